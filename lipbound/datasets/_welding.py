r"""``welding-single`` and ``welding-dual``: MuJoCo welding stations with one or two arms (Section
5.1's second and third datasets, made with ABB RobotStudio in the paper; its files are not
available, so these are MuJoCo scenes of the same kind).

Scene (``models/welding_single.xml``, ``models/welding_dual.xml``): arms with a welding torch
(yaw, shoulder, elbow, wrist hinges) and, per arm, a workpiece: two steel plates butted along a
straight seam on a table. Per episode (seeded) each workpiece is placed at 0.35-0.50 m (single)
or 0.30-0.40 m (dual) from its arm's base, within +-35 (single) or +-25 (dual) degrees of its
front, with the seam at a random orientation; the weld covers a random stretch of 0.12-0.20 m of
the seam. The torch path: home, above the seam's start, down to 12 mm above the plates, along the
seam with a sinusoidal weave of random amplitude (3-8 mm) and 3-6 periods, lift, home; a glowing
arc is visible while welding and weld-bead markers appear along the finished part of the seam.
In the dual station both arms weld at once, each at its own random pace, and the camera is
farther away (the robots are smaller in the image, as in the paper's dual station).

Modalities per sample (window end frame :math:`t`): ``camera`` ``(3, S, S)`` in [0, 1];
``joints`` ``(L, 4)`` (single) or ``(L, 8)`` (dual: arm a's yaw, shoulder, elbow, wrist, then arm
b's), radians.

>>> from lipbound.datasets import welding_dual
>>> import tempfile
>>> ds = welding_dual(seed=0, cache_dir=tempfile.mkdtemp(), image_size=16, frames=12, seq_len=4,
...                   step=4, train_episodes=1, test_episodes=1)
>>> tuple(ds.train["camera"].shape), tuple(ds.train["joints"].shape)
((3, 3, 16, 16), (3, 4, 8))
"""

from __future__ import annotations

import numpy as np

from ._base import ModalitySpec, MultimodalDataset, register_dataset
from ._generated import build, run_frames
from ._sim import Scene, sliding_windows, smooth_path

CONFIGS = {
    "small": {"image_size": 32, "frames": 64, "seq_len": 10, "step": 2, "train_episodes": 12, "test_episodes": 4},
    "paper": {"image_size": 256, "frames": 120, "seq_len": 10, "step": 2, "train_episodes": 50,
              "test_episodes": 10},
}
PLATE_TOP = 0.112  # plates' top surface (m)
N_BEADS = 24


def _quat_z(phi: float) -> np.ndarray:
    return np.array([np.cos(phi / 2), 0.0, 0.0, np.sin(phi / 2)])


def _plan(scene: Scene, rng: np.random.Generator, arm: int, prefix: str, frames: int,
          radius: tuple[float, float], half_angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Place arm ``arm``'s workpiece; return its torch path ``(frames, 3)`` and weld progress
    ``(frames,)`` (-1 before welding, 0..1 while welding, 2 after)."""
    a = scene.arms[arm]
    ang = a.base_yaw + np.deg2rad(rng.uniform(-half_angle, half_angle))
    center = a.base[:2] + rng.uniform(*radius) * np.array([np.cos(ang), np.sin(ang)])
    phi = rng.uniform(-np.pi / 2, np.pi / 2)
    u, n = np.array([np.cos(phi), np.sin(phi)]), np.array([-np.sin(phi), np.cos(phi)])
    m = scene.model
    for name, off, z in (("table", 0.0, 0.05), ("plate_a", 0.05, 0.106), ("plate_b", -0.05, 0.106)):
        g = scene.geom(prefix + name)
        m.geom_pos[g] = [*(center + off * n), z]
        m.geom_quat[g] = _quat_z(phi)
    length = rng.uniform(0.12, 0.20)
    s0 = rng.uniform(-0.10, 0.10 - length)
    start, end = center + s0 * u, center + (s0 + length) * u
    for i in range(N_BEADS):
        g = scene.geom(f"{prefix}bead{i}")
        m.geom_pos[g] = [*(start + (end - start) * i / (N_BEADS - 1)), PLATE_TOP + 0.002]
        m.geom_rgba[g, 3] = 0.0
    home = np.array([*(a.base[:2] + 0.3 * np.array([np.cos(a.base_yaw), np.sin(a.base_yaw)])), 0.4])
    hover, weld_z = PLATE_TOP + 0.08, PLATE_TOP + 0.012
    wp = np.array([home, [*start, hover], [*start, weld_z], [*end, weld_z], [*end, hover], home])
    dur = (np.linalg.norm(np.diff(wp, axis=0), axis=1) + 0.05) * rng.uniform(0.8, 1.2, 5)
    dur[2] *= 2.5  # welding is slow
    path, seg = smooth_path(wp, dur, frames, segments=True)
    progress = np.where(seg < 2, -1.0, 2.0)
    welding = seg == 2
    along = (path[:, :2] - start) @ u / max(length, 1e-9)
    progress[welding] = np.clip(along[welding], 0.0, 1.0)
    amp, periods = rng.uniform(0.003, 0.008), rng.uniform(3, 6)
    weave = amp * np.sin(2 * np.pi * periods * np.clip(along, 0, 1)) * welding
    path[:, :2] += weave[:, None] * n
    return path, progress


def _make_episode(prefixes: tuple[str, ...], radius, half_angle):
    def episode(scene: Scene, rng: np.random.Generator, cfg: dict) -> dict[str, np.ndarray]:
        plans = [_plan(scene, rng, k, p, cfg["frames"], radius, half_angle) for k, p in enumerate(prefixes)]
        arcs = [scene.geom(p + "arc") for p in prefixes]
        beads = [np.array([scene.geom(f"{p}bead{i}") for i in range(N_BEADS)]) for p in prefixes]
        q, rgba = scene.data.qpos, scene.model.geom_rgba
        marks = np.arange(N_BEADS) / (N_BEADS - 1)

        def set_frame(t: int) -> np.ndarray:
            row = []
            for k, (path, progress) in enumerate(plans):
                angles = scene.arms[k].ik(path[t])
                q[scene.arms[k].qadr] = angles
                row.append(angles)
                on = 0.0 <= progress[t] <= 1.0
                rgba[arcs[k], 3] = 1.0 if on else 0.0
                rgba[beads[k], 3] = (marks <= progress[t]).astype(float) if progress[t] >= 0 else 0.0
            scene.forward()
            return np.concatenate(row)

        images, series, _ = run_frames(scene, cfg["frames"], cfg["seq_len"], cfg["step"], set_frame)
        return {"camera": images, "joints": sliding_windows(series, cfg["seq_len"], cfg["step"])}

    return episode


def _specs(n_joints: int):
    def specs(cfg):
        return (ModalitySpec("camera", "image", (3, cfg["image_size"], cfg["image_size"])),
                ModalitySpec("joints", "series", (cfg["seq_len"], n_joints)))

    return specs


_SINGLE = _make_episode(("",), (0.35, 0.50), 35.0)
_DUAL = _make_episode(("a_", "b_"), (0.30, 0.40), 25.0)


@register_dataset("welding-single")
def welding_single(size: str = "small", seed: int = 0, cache_dir=None, **overrides) -> MultimodalDataset:
    """The single-robot welding station (module docstring), cached; ``overrides`` as in
    :func:`lipbound.datasets.pick_and_place`."""
    return build("welding-single", size, seed, cache_dir, overrides, CONFIGS, xml="welding_single.xml", arms=("",),
                 specs=_specs(4), episode=_SINGLE, generator="lipbound.datasets._welding")


@register_dataset("welding-dual")
def welding_dual(size: str = "small", seed: int = 0, cache_dir=None, **overrides) -> MultimodalDataset:
    """The dual-robot welding station (module docstring), cached; ``overrides`` as in
    :func:`lipbound.datasets.pick_and_place`."""
    return build("welding-dual", size, seed, cache_dir, overrides, CONFIGS, xml="welding_dual.xml",
                 arms=("a_", "b_"), specs=_specs(8), episode=_DUAL, generator="lipbound.datasets._welding")
