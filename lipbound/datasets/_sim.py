r"""Headless MuJoCo scenes for the generated datasets: importing MuJoCo with a headless OpenGL
back end, the arm's inverse kinematics, trajectory interpolation and Section 5.1 windowing.

Headless rendering. MuJoCo picks its OpenGL back end from the environment variable
``MUJOCO_GL`` *when ``mujoco`` is first imported*. :func:`import_mujoco` sets ``MUJOCO_GL=egl``
if it is unset (EGL renders off-screen on the CPU through Mesa's llvmpipe when there is no GPU);
set ``MUJOCO_GL=osmesa`` (or ``egl``) yourself before anything imports ``mujoco`` to choose
another. Missing pieces raise :class:`MissingDependencyError` /
:class:`RendererUnavailableError` with the fix. Without any OpenGL, ``renderer="procedural"`` (or
``LIPBOUND_RENDERER=procedural``) selects a simplified NumPy rasteriser
(:mod:`lipbound.datasets._procedural`), labelled as such in ``meta["renderer"]``.

The scenes are *kinematic*: each frame sets the joint angles from the scripted trajectory (inverse
kinematics below) and calls ``mj_forward``; there is no contact dynamics (a grasped object follows
the gripper by construction).

Arm geometry (the MJCF files in ``lipbound/datasets/models/`` use the same numbers): a yaw joint
about :math:`z`, then shoulder, elbow and wrist hinges about the arm's :math:`y` axis, shoulder
height :math:`h_0`, links :math:`\ell_1, \ell_2`, tool :math:`\ell_3`. With the tool pointing
straight down, the inverse kinematics of a tool-tip target at horizontal distance :math:`r` and
height :math:`z` from the base is closed form:

.. math::

    \theta_0 = \operatorname{atan2}(\Delta y, \Delta x) - \psi,\quad
    (r_w, z_w) = (r, z + \ell_3 - h_0),\quad
    \cos\theta_2 = \frac{r_w^2 + z_w^2 - \ell_1^2 - \ell_2^2}{2\ell_1\ell_2},

.. math::

    \theta_1 = \operatorname{atan2}(r_w, z_w)
        - \operatorname{atan2}(\ell_2\sin\theta_2, \ell_1 + \ell_2\cos\theta_2),\quad
    \theta_3 = \pi - \theta_1 - \theta_2,

(:math:`\psi` the base's yaw; angles of the links measured from the vertical, elbow up).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import LipboundError, MissingDependencyError

MODELS = Path(__file__).with_name("models")
#: shoulder height, upper arm, forearm, tool length (metres), as in the MJCF files
H0, L1, L2, L3 = 0.2, 0.35, 0.3, 0.1

_GL_FIX = (
    "headless rendering needs an OpenGL back end: install EGL and Mesa "
    "(Debian/Ubuntu: `apt install libegl1 libgl1-mesa-dri`) and set MUJOCO_GL=egl, or install OSMesa "
    "(`apt install libosmesa6`) and set MUJOCO_GL=osmesa, before Python imports mujoco"
)


class RendererUnavailableError(MissingDependencyError):
    """MuJoCo is installed but cannot open a headless OpenGL context (no EGL/OSMesa)."""


def import_mujoco():
    """Import ``mujoco`` with ``MUJOCO_GL`` defaulting to ``egl`` (headless).

    Raises:
        MissingDependencyError: ``mujoco`` is not installed (fix: ``pip install mujoco``).
    """
    os.environ.setdefault("MUJOCO_GL", "egl")
    try:
        import mujoco
    except ImportError as exc:
        raise MissingDependencyError(
            "the generated robot datasets need MuJoCo, which is not installed; install it with: "
            "pip install mujoco (then, for headless rendering, " + _GL_FIX + ")") from exc
    return mujoco


def make_renderer(model, size: int):
    """A ``mujoco.Renderer`` of ``size`` x ``size`` pixels with shadows, reflections and skybox off
    (faster on a CPU, and nothing in the scenes needs them).

    Raises:
        RendererUnavailableError: the OpenGL context cannot be created; the message gives the fix.
    """
    mujoco = import_mujoco()
    try:
        renderer = mujoco.Renderer(model, size, size)
    except Exception as exc:  # the back ends raise assorted types (FatalError, AttributeError...)
        raise RendererUnavailableError(
            f"MuJoCo cannot render off-screen with MUJOCO_GL={os.environ.get('MUJOCO_GL')!r} "
            f"({type(exc).__name__}: {exc}); {_GL_FIX}; or, without OpenGL, generate with the simplified, "
            "labelled NumPy rasteriser: renderer='procedural' or LIPBOUND_RENDERER=procedural") from exc
    for flag in ("mjRND_SHADOW", "mjRND_REFLECTION", "mjRND_SKYBOX"):
        renderer.scene.flags[getattr(mujoco.mjtRndFlag, flag)] = False
    return renderer


def smooth_path(waypoints: np.ndarray, durations: np.ndarray, frames: int, *, segments: bool = False):
    r"""Sample a piecewise path through ``waypoints`` (``(K, d)``) at ``frames`` instants.

    Segment :math:`k` takes a share ``durations[k] / sum(durations)`` of the time and is traversed
    with the smooth profile :math:`s(u) = (1 - \cos \pi u)/2` (zero speed at each waypoint).
    With ``segments=True`` also returns each frame's segment index.

    >>> np.round(smooth_path(np.array([[0.0], [1.0]]), np.array([1.0]), 3), 12).ravel().tolist()
    [0.0, 0.5, 1.0]
    """
    waypoints = np.asarray(waypoints, dtype=np.float64)
    durations = np.asarray(durations, dtype=np.float64)
    if len(waypoints) != len(durations) + 1 or frames < 2:
        raise LipboundError("smooth_path needs K waypoints, K-1 durations and at least 2 frames")
    edges = np.concatenate([[0.0], np.cumsum(durations)]) / durations.sum()
    t = np.linspace(0.0, 1.0, frames)
    seg = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, len(durations) - 1)
    u = np.where(durations[seg] > 0, (t - edges[seg]) / np.maximum(edges[seg + 1] - edges[seg], 1e-12), 1.0)
    s = (1.0 - np.cos(np.pi * np.clip(u, 0.0, 1.0))) / 2.0
    path = waypoints[seg] + s[:, None] * (waypoints[seg + 1] - waypoints[seg])
    return (path, seg) if segments else path


def window_ends(frames: int, seq_len: int, step: int) -> np.ndarray:
    r"""The frames that end a window (Section 5.1): :math:`t = L-1, L-1+s, \dots < T`.

    Each sample pairs the image at frame :math:`t` with the series window of the :math:`L` frames
    :math:`t-L+1, \dots, t` (sequence length :math:`L`, consecutive samples :math:`s` frames
    apart); the first :math:`L-1` frames start no sample, so a trajectory of :math:`T` frames
    gives :math:`\lfloor (T-L)/s \rfloor + 1` samples (:math:`T-L+1` for :math:`s = 1`).

    >>> window_ends(10, 4, 3).tolist()
    [3, 6, 9]
    """
    if seq_len < 1 or step < 1 or frames < seq_len:
        raise LipboundError(f"windowing needs 1 <= seq_len <= frames and step >= 1, got seq_len={seq_len}, "
                            f"step={step}, frames={frames}")
    return np.arange(seq_len - 1, frames, step)


def sliding_windows(series: np.ndarray, seq_len: int, step: int) -> np.ndarray:
    """Windows ``(n, seq_len, C)`` of a ``(T, C)`` series ending at :func:`window_ends`.

    >>> sliding_windows(np.arange(6.0)[:, None], 3, 2)[:, :, 0].tolist()
    [[0.0, 1.0, 2.0], [2.0, 3.0, 4.0]]
    """
    series = np.asarray(series)
    ends = window_ends(series.shape[0], seq_len, step)
    idx = ends[:, None] - np.arange(seq_len - 1, -1, -1)[None, :]
    return series[idx]


class Arm:
    """One arm of a scene, by its name prefix: joint addresses, base pose and closed-form inverse
    kinematics (module docstring)."""

    JOINTS = ("yaw", "shoulder", "elbow", "wrist")

    def __init__(self, model, prefix: str = ""):
        mujoco = import_mujoco()
        self.prefix = prefix
        self.qadr = np.array([model.jnt_qposadr[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, prefix + j)]
                              for j in self.JOINTS])
        body = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, prefix + "base")
        self.base = np.array(model.body_pos[body], dtype=np.float64)
        w, _, _, z = model.body_quat[body]
        self.base_yaw = 2.0 * np.arctan2(z, w)
        self.site = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, prefix + "tcp")

    def ik(self, target: np.ndarray) -> np.ndarray:
        """Joint angles ``(yaw, shoulder, elbow, wrist)`` putting the tool tip at ``target`` (world
        coordinates) with the tool pointing down; :class:`LipboundError` if out of reach."""
        d = np.asarray(target, dtype=np.float64) - self.base
        yaw = np.arctan2(d[1], d[0]) - self.base_yaw
        yaw = (yaw + np.pi) % (2 * np.pi) - np.pi
        rw, zw = np.hypot(d[0], d[1]), d[2] + L3 - H0
        c2 = (rw * rw + zw * zw - L1 * L1 - L2 * L2) / (2 * L1 * L2)
        if not -1.0 <= c2 <= 1.0:
            raise LipboundError(f"target {np.round(target, 3).tolist()} is out of the arm's reach")
        t2 = np.arccos(c2)
        t1 = np.arctan2(rw, zw) - np.arctan2(L2 * np.sin(t2), L1 + L2 * np.cos(t2))
        return np.array([yaw, t1, t2, np.pi - t1 - t2])


class Scene:
    """A loaded MJCF scene with its arms and an off-screen renderer (call :meth:`close`)."""

    def __init__(self, xml: str, image_size: int, arm_prefixes: tuple[str, ...] = ("",), renderer: str = "mujoco"):
        self.mujoco = import_mujoco()
        self.model = self.mujoco.MjModel.from_xml_path(str(MODELS / xml))
        self.data = self.mujoco.MjData(self.model)
        self.arms = [Arm(self.model, p) for p in arm_prefixes]
        vis = self.model.vis.global_  # the off-screen buffer must hold the image
        vis.offwidth, vis.offheight = max(vis.offwidth, image_size), max(vis.offheight, image_size)
        if renderer == "procedural":
            from ._procedural import ProceduralRenderer

            self.renderer = ProceduralRenderer(self.model, image_size)
        elif renderer == "mujoco":
            self.renderer = make_renderer(self.model, image_size)
        else:
            raise LipboundError(f"renderer must be 'mujoco' or 'procedural', got {renderer!r}")
        self.renderer_name = renderer

    def geom(self, name: str) -> int:
        """The id of geom ``name``."""
        return self.mujoco.mj_name2id(self.model, self.mujoco.mjtObj.mjOBJ_GEOM, name)

    def joint_qadr(self, name: str) -> int:
        """The qpos address of joint ``name``."""
        return int(self.model.jnt_qposadr[self.mujoco.mj_name2id(self.model, self.mujoco.mjtObj.mjOBJ_JOINT, name)])

    def forward(self) -> None:
        """Recompute positions (``mj_forward``) after setting ``data.qpos`` / model geometry."""
        self.mujoco.mj_forward(self.model, self.data)

    def tcp(self, arm: int = 0) -> np.ndarray:
        """World position of arm ``arm``'s tool tip (after :meth:`forward`)."""
        return np.array(self.data.site_xpos[self.arms[arm].site])

    def render(self) -> np.ndarray:
        """The camera image ``(3, H, W)`` uint8."""
        if self.renderer_name == "procedural":
            return self.renderer.render(self.data)
        self.renderer.update_scene(self.data, camera="cam")
        return np.ascontiguousarray(self.renderer.render().transpose(2, 0, 1))

    def close(self) -> None:
        """Free the OpenGL context."""
        self.renderer.close()
