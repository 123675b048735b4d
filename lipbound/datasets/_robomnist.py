r"""``robomnist``: a RoboMNIST-style trimodal dataset (Section 5.2; the real RoboMNIST recordings are
not available here): a MuJoCo arm writes real handwritten digits with a pen, observed by a camera,
its kinematics and a simulated WiFi channel.

Digits. The 1797 8 x 8 digits of :func:`sklearn.datasets.load_digits` (UCI handwritten digits,
shipped with scikit-learn). Training episodes use the digits whose index is not a multiple of 5,
test episodes those whose index is, so no digit image is in both splits. The stroke path of a
digit: its ink pixels (value >= 4 of 16) ordered greedily, starting from the top-most, left-most
ink pixel and always moving to the nearest unvisited ink pixel (ties: row-major order); the pen
stays down between 8-neighbours and lifts (3 cm) for longer jumps. Pixel (row :math:`r`, column
:math:`c`) sits at :math:`(0.42 + 0.025(r - 3.5),\ 0.025(c - 3.5))` m on a white board; a pixel
turns dark (opacity = value / 16) once the pen has reached it, so the image shows the digit being
written. Segment durations are proportional to their length (random factor in [0.8, 1.2]).

WiFi channel state information (the exact model). A transmitter at
:math:`p_T = (0.5, -0.8, 0.4)` and a receiver at :math:`p_R = (0.5, 0.8, 0.4)` (m) see
:math:`K` subcarriers at :math:`f_k = f_c + (k/(K-1) - 1/2) B`, :math:`f_c = 5.32` GHz,
:math:`B = 40` MHz, :math:`\lambda_k = c/f_k`. The channel is the sum of a line-of-sight path
(length :math:`d_0`), a floor reflection (image source :math:`p_T' = (x_T, y_T, -z_T)`, length
:math:`d_f`, coefficient :math:`\Gamma_f = -0.4`) and one bistatic scatterer per arm link
:math:`s` (upper arm, forearm, hand; point :math:`p_s` = the link's centre in the current frame,
radar cross-section :math:`\sigma_s = 0.04, 0.03, 0.02` m²):

.. math::

    H_k = \frac{e^{-2\pi i d_0/\lambda_k}}{d_0} + \Gamma_f\,\frac{e^{-2\pi i d_f/\lambda_k}}{d_f}
        + \sum_s \sqrt{\frac{\sigma_s}{4\pi}}\,
          \frac{e^{-2\pi i (\|p_T - p_s\| + \|p_s - p_R\|)/\lambda_k}}{\|p_T - p_s\|\,\|p_s - p_R\|}
        + \frac{\sigma_n}{d_0}\,\frac{\varepsilon_k + i\,\varepsilon'_k}{\sqrt 2},

(the common free-space factor :math:`\lambda/4\pi` dropped), :math:`\sigma_n = 0.02` (receiver
noise 34 dB below the line of sight), :math:`\varepsilon, \varepsilon' \sim N(0, 1)` seeded. The
modality is the amplitude relative to the line of sight, :math:`A_k = d_0 |H_k|` (dimensionless).

Modalities per sample (window end frame :math:`t`): ``camera`` ``(3, S, S)`` in [0, 1];
``kinematics`` ``(L, 7)`` (yaw, shoulder, elbow, wrist in radians; pen tip x, y, z in metres);
``wifi`` ``(L, K)`` CSI amplitudes. ``meta["labels"]`` holds each sample's digit class.

>>> from lipbound.datasets import robomnist
>>> import tempfile
>>> ds = robomnist(seed=0, cache_dir=tempfile.mkdtemp(), image_size=16, frames=12, seq_len=4,
...                step=4, train_episodes=1, test_episodes=1, subcarriers=8)
>>> ds.modality_names, tuple(ds.train["wifi"].shape), len(ds.meta["labels"]["train"])
(('camera', 'kinematics', 'wifi'), (3, 4, 8), 3)
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import MissingDependencyError
from ._base import ModalitySpec, MultimodalDataset, register_dataset
from ._generated import build, run_frames
from ._sim import Scene, sliding_windows, smooth_path

CONFIGS = {
    "small": {"image_size": 32, "frames": 64, "seq_len": 10, "step": 2, "train_episodes": 12, "test_episodes": 4,
              "subcarriers": 30},
    "paper": {"image_size": 256, "frames": 120, "seq_len": 10, "step": 2, "train_episodes": 50,
              "test_episodes": 10, "subcarriers": 30},
}
BOARD_X, CELL, BOARD_TOP = 0.42, 0.025, 0.008
PEN_DOWN, PEN_UP = BOARD_TOP + 0.002, BOARD_TOP + 0.032
TX, RX = np.array([0.5, -0.8, 0.4]), np.array([0.5, 0.8, 0.4])
F_C, BANDWIDTH, C_LIGHT = 5.32e9, 40e6, 299_792_458.0
GAMMA_FLOOR, NOISE = -0.4, 0.02
SCATTERERS = (("upper", 0.04), ("fore", 0.03), ("hand", 0.02))
INK_THRESHOLD = 4


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise MissingDependencyError("the robomnist dataset writes the digits that ship with scikit-learn, "
                                     "which is not installed; install it with: pip install scikit-learn") from exc
    d = load_digits()
    return d.images.astype(np.int64), d.target.astype(np.int64)


def stroke_order(image: np.ndarray, threshold: int = INK_THRESHOLD) -> list[tuple[int, int]]:
    """The ink pixels ``(row, col)`` of an 8 x 8 digit in writing order (module docstring).

    >>> img = np.zeros((8, 8), int); img[1, 2] = img[1, 3] = img[5, 2] = 16
    >>> stroke_order(img)
    [(1, 2), (1, 3), (5, 2)]
    """
    ink = [tuple(int(v) for v in p) for p in np.argwhere(image >= threshold)]  # row-major
    if not ink:
        return []
    order = [ink.pop(0)]
    while ink:
        r, c = order[-1]
        k = min(range(len(ink)), key=lambda i: ((ink[i][0] - r) ** 2 + (ink[i][1] - c) ** 2, i))
        order.append(ink.pop(k))
    return order


def _cell(r: int, c: int) -> np.ndarray:
    return np.array([BOARD_X + CELL * (r - 3.5), CELL * (c - 3.5)])


def csi_amplitude(points: np.ndarray, sigmas: np.ndarray, subcarriers: int, noise: np.ndarray) -> np.ndarray:
    r"""The WiFi CSI amplitudes :math:`A_k = d_0 |H_k|` (module docstring) for scatterers at
    ``points`` ``(S, 3)`` with cross-sections ``sigmas`` ``(S,)``; ``noise`` ``(2, K)`` standard
    normal draws. Without scatterers and noise :math:`A_k = |1 + \Gamma_f (d_0/d_f) e^{-2\pi i
    (d_f - d_0)/\lambda_k}|`:

    >>> a = csi_amplitude(np.zeros((0, 3)), np.zeros(0), 4, np.zeros((2, 4)))
    >>> bool(np.all((a > 1 - 0.4) & (a < 1 + 0.4)))
    True
    """
    k = np.arange(subcarriers)
    lam = C_LIGHT / (F_C + (k / max(subcarriers - 1, 1) - 0.5) * BANDWIDTH)
    d0 = np.linalg.norm(TX - RX)
    df = np.linalg.norm(TX * np.array([1.0, 1.0, -1.0]) - RX)
    h = np.exp(-2j * np.pi * d0 / lam) / d0 + GAMMA_FLOOR * np.exp(-2j * np.pi * df / lam) / df
    for p, s in zip(points, sigmas):
        d1, d2 = np.linalg.norm(TX - p), np.linalg.norm(p - RX)
        h = h + np.sqrt(s / (4 * np.pi)) * np.exp(-2j * np.pi * (d1 + d2) / lam) / (d1 * d2)
    h = h + NOISE / d0 * (noise[0] + 1j * noise[1]) / np.sqrt(2)
    return d0 * np.abs(h)


def _episode(scene: Scene, rng: np.random.Generator, cfg: dict) -> dict[str, np.ndarray]:
    images, targets = _digits()
    pool = np.flatnonzero((np.arange(len(images)) % 5 == 0) == (cfg["split"] == "test"))
    idx = int(rng.choice(pool))
    digit = images[idx]
    order = stroke_order(digit)
    home = np.array([0.28, rng.uniform(-0.05, 0.05), 0.25])
    wp, reaches = [home], [-1]  # reaches[j]: the ink pixel waypoint j puts the pen on (-1: none)
    prev = None
    for n, (r, c) in enumerate(order):
        xy = _cell(r, c)
        if prev is None or max(abs(r - prev[0]), abs(c - prev[1])) > 1:
            if prev is not None:
                wp.append(np.array([*wp[-1][:2], PEN_UP])); reaches.append(-1)
            wp.append(np.array([*xy, PEN_UP])); reaches.append(-1)
        wp.append(np.array([*xy, PEN_DOWN])); reaches.append(n)
        prev = (r, c)
    wp.append(np.array([*wp[-1][:2], PEN_UP])); reaches.append(-1)
    wp.append(home); reaches.append(-1)
    wp = np.array(wp)
    dur = (np.linalg.norm(np.diff(wp, axis=0), axis=1) + 0.01) * rng.uniform(0.8, 1.2, len(wp) - 1)
    path, seg = smooth_path(wp, dur, cfg["frames"], segments=True)
    # frame t has reached waypoint j when seg[t] >= j (segment j-1 done) or it is the last frame
    reach_wp = {reaches[j]: j for j in range(len(reaches)) if reaches[j] >= 0}
    ink = np.array([scene.geom(f"ink{i}") for i in range(64)])
    m = scene.model
    for n, (r, c) in enumerate(order):
        m.geom_pos[ink[n]] = [*_cell(r, c), BOARD_TOP + 0.001]
    m.geom_pos[ink[len(order):], 2] = -1.0  # unused ink cells below the floor
    alpha = np.array([digit[r, c] / 16.0 for r, c in order])
    arm = scene.arms[0]
    q = scene.data.qpos
    scat = [scene.geom(name) for name, _ in SCATTERERS]
    sigmas = np.array([s for _, s in SCATTERERS])
    noise = rng.standard_normal((cfg["frames"], 2, cfg["subcarriers"]))
    csi = []

    def set_frame(t: int) -> np.ndarray:
        angles = arm.ik(path[t])
        q[arm.qadr] = angles
        done = np.array([seg[t] >= reach_wp[n] or t == cfg["frames"] - 1 for n in range(len(order))])
        m.geom_rgba[ink[:len(order)], 3] = np.where(done, alpha, 0.0)
        scene.forward()
        csi.append(csi_amplitude(scene.data.geom_xpos[scat], sigmas, cfg["subcarriers"], noise[t]))
        return np.array([*angles, *scene.tcp()])

    frames, kin, _ = run_frames(scene, cfg["frames"], cfg["seq_len"], cfg["step"], set_frame)
    windows = sliding_windows(kin, cfg["seq_len"], cfg["step"])
    return {"camera": frames, "kinematics": windows,
            "wifi": sliding_windows(np.stack(csi), cfg["seq_len"], cfg["step"]),
            "label": np.full(len(windows), targets[idx])}


def _specs(cfg):
    return (ModalitySpec("camera", "image", (3, cfg["image_size"], cfg["image_size"])),
            ModalitySpec("kinematics", "series", (cfg["seq_len"], 7)),
            ModalitySpec("wifi", "series", (cfg["seq_len"], cfg["subcarriers"])))


@register_dataset("robomnist")
def robomnist(size: str = "small", seed: int = 0, cache_dir=None, **overrides) -> MultimodalDataset:
    """The RoboMNIST-style trimodal dataset (module docstring), cached; ``overrides`` as in
    :func:`lipbound.datasets.pick_and_place` plus ``subcarriers`` (the WiFi modality's :math:`K`)."""
    return build("robomnist", size, seed, cache_dir, overrides, CONFIGS, xml="robomnist.xml", arms=("",),
                 specs=_specs, episode=_episode, generator="lipbound.datasets._robomnist")
