r"""``pick-and-place``: a MuJoCo arm picks a cube and places it on a target (Section 5.1's first
dataset, a MuJoCo pick-and-place scene; the paper's own files are not available, so this is a
scene of the same kind).

Scene (``models/pick_and_place.xml``): a four-hinge arm (yaw, shoulder, elbow, wrist) with a
two-finger gripper on a checkered floor, a red 4 cm cube and a green target disc. Per episode
the cube and the target are placed uniformly at random (seeded) at 0.30-0.55 m from the base and
within +-70 degrees of its front, at least 35 degrees apart; the cube's yaw is random. The
scripted trajectory (tool pointing down, closed-form inverse kinematics) visits: home, above the
cube, the cube, (close), lift, above the target, the target, (open), lift, home, each segment with
a smooth velocity profile and a duration proportional to its length times a random factor in
[0.8, 1.2]. The cube follows the gripper while it is closed.

Modalities (aligned per sample; a sample is a window end frame :math:`t`):

- ``camera``: ``(3, S, S)`` image of frame :math:`t` in [0, 1] (``S = image_size``);
- ``joints``: ``(L, 5)`` joint series of frames :math:`t-L+1..t` (yaw, shoulder, elbow, wrist in
  radians; finger opening in metres), ``L = seq_len`` (Section 5.1 windowing, see
  :func:`lipbound.datasets.window_ends`).

>>> from lipbound.datasets import pick_and_place
>>> import tempfile
>>> ds = pick_and_place(seed=0, cache_dir=tempfile.mkdtemp(), image_size=16, frames=12, seq_len=4,
...                     step=4, train_episodes=1, test_episodes=1)
>>> tuple(ds.train["camera"].shape), tuple(ds.train["joints"].shape), ds.meta["cache"]
((3, 3, 16, 16), (3, 4, 5), 'miss')
"""

from __future__ import annotations

import numpy as np

from ._base import ModalitySpec, MultimodalDataset, register_dataset
from ._generated import build, run_frames
from ._sim import Scene, sliding_windows, smooth_path

#: ``small`` renders in seconds on a CPU; ``paper`` uses the paper's 256 x 256 images (Section 5.1)
CONFIGS = {
    "small": {"image_size": 32, "frames": 64, "seq_len": 10, "step": 2, "train_episodes": 12, "test_episodes": 4},
    "paper": {"image_size": 256, "frames": 120, "seq_len": 10, "step": 2, "train_episodes": 50,
              "test_episodes": 10},
}
OPEN, CLOSED = 0.035, 0.026  # finger slide positions: open, and gripping the 2 cm half-width cube
SAFE_Z, GRASP_Z = 0.2, 0.03


def _polar(rng, lo_deg, hi_deg):
    a = np.deg2rad(rng.uniform(lo_deg, hi_deg))
    r = rng.uniform(0.30, 0.55)
    return np.array([r * np.cos(a), r * np.sin(a)]), a


def _episode(scene: Scene, rng: np.random.Generator, cfg: dict) -> dict[str, np.ndarray]:
    obj, a_obj = _polar(rng, -70, 70)
    while True:
        tgt, a_tgt = _polar(rng, -70, 70)
        if abs(a_tgt - a_obj) >= np.deg2rad(35):
            break
    home = np.array([0.3 + rng.uniform(-0.03, 0.03), rng.uniform(-0.05, 0.05), 0.35])
    wp = [(*home, OPEN), (*obj, SAFE_Z, OPEN), (*obj, GRASP_Z, OPEN), (*obj, GRASP_Z, CLOSED),
          (*obj, SAFE_Z, CLOSED), (*tgt, SAFE_Z, CLOSED), (*tgt, GRASP_Z, CLOSED), (*tgt, GRASP_Z, OPEN),
          (*tgt, SAFE_Z, OPEN), (*home, OPEN)]
    wp = np.array(wp)
    dist = np.linalg.norm(np.diff(wp[:, :3], axis=0), axis=1) + 0.08  # gripper actions take time too
    path, seg = smooth_path(wp, dist * rng.uniform(0.8, 1.2, len(dist)), cfg["frames"], segments=True)
    grasped = (seg >= 3) & (seg <= 5)  # lift, carry and lower: after closing, before opening
    arm = scene.arms[0]
    q = scene.data.qpos
    fl, fr, ob = scene.joint_qadr("finger_l"), scene.joint_qadr("finger_r"), scene.joint_qadr("object")
    scene.model.geom_pos[scene.geom("target")] = [*tgt, 0.002]
    yaw = rng.uniform(-np.pi, np.pi)
    quat = np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])
    placed = np.array([*obj, 0.02])

    def set_frame(t: int) -> np.ndarray:
        nonlocal placed
        angles = arm.ik(path[t, :3])
        q[arm.qadr] = angles
        q[fl] = q[fr] = path[t, 3]
        if grasped[t]:
            placed = np.array([path[t, 0], path[t, 1], path[t, 2] - 0.01])
        elif seg[t] > 5:  # released: the cube rests on the target
            placed = np.array([*tgt, 0.02])
        q[ob:ob + 3], q[ob + 3:ob + 7] = placed, quat
        scene.forward()
        return np.array([*angles, path[t, 3]])

    images, series, _ = run_frames(scene, cfg["frames"], cfg["seq_len"], cfg["step"], set_frame)
    return {"camera": images, "joints": sliding_windows(series, cfg["seq_len"], cfg["step"])}


@register_dataset("pick-and-place")
def pick_and_place(size: str = "small", seed: int = 0, cache_dir=None, **overrides) -> MultimodalDataset:
    """The pick-and-place dataset (module docstring), cached; ``overrides`` change keys of
    :data:`CONFIGS` (``image_size``, ``frames``, ``seq_len``, ``step``, ``train_episodes``,
    ``test_episodes``) and ``renderer`` (``"mujoco"``, the default, or the labelled
    ``"procedural"`` fallback without OpenGL)."""
    def specs(cfg):
        return (ModalitySpec("camera", "image", (3, cfg["image_size"], cfg["image_size"])),
                ModalitySpec("joints", "series", (cfg["seq_len"], 5)))

    return build("pick-and-place", size, seed, cache_dir, overrides, CONFIGS, xml="pick_and_place.xml", arms=("",),
                 specs=specs, episode=_episode, generator="lipbound.datasets._pick_and_place")
