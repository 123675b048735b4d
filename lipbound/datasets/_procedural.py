r"""A labelled fallback for machines without a headless OpenGL back end: a small NumPy rasteriser
that draws the same MuJoCo scenes from the same camera, much more simply.

Chosen only on request (``renderer="procedural"`` in a dataset's configuration, or the
environment variable ``LIPBOUND_RENDERER=procedural``); it is never used silently, it changes the
cache key, and ``meta["renderer"]`` says so. What it draws, from MuJoCo's kinematics (``mj_forward``
still runs; only OpenGL is missing):

- the floor plane :math:`z = 0` as the two-tone checker of the scene's floor material (ray-plane
  intersection per pixel), black above the horizon;
- every other visible geom (alpha > 0) flat-shaded in its colour, far to near (painter's
  algorithm on the geom centres' depths): spheres as discs, capsules and cylinders as thick
  segments between their end points, boxes as the convex hull of their projected corners,
  alpha-blended.

No lighting, shadows, textures other than the floor's checker, or occlusion within overlapping
geoms. The camera is the scene's ``cam`` (pinhole, vertical field of view ``cam_fovy``).
"""

from __future__ import annotations

import numpy as np

LABEL = ("procedural (lipbound's NumPy rasteriser: flat-shaded discs, thick segments and box hulls "
         "over a checkered floor; no lighting or shadows), not MuJoCo's OpenGL renderer")
_FLOOR_CELL = 2.0 / 3.0  # checker cell (m), matched by eye to MuJoCo's rendering of the floor material
_FLOOR_RGB = (np.array([0.55, 0.57, 0.6]), np.array([0.45, 0.47, 0.5]))


def _hull(points: np.ndarray) -> np.ndarray:
    """Convex hull (counter-clockwise) of 2-D points, Andrew's monotone chain."""
    pts = sorted(map(tuple, points))
    if len(pts) <= 2:
        return np.array(pts)

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower, upper = [], []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.array(lower[:-1] + upper[:-1])


class ProceduralRenderer:
    """Draw ``model``'s camera ``cam`` at ``size`` x ``size`` pixels (module docstring).

    >>> from lipbound.datasets._sim import import_mujoco
    >>> mj = import_mujoco()
    >>> m = mj.MjModel.from_xml_string('<mujoco><worldbody><geom type="plane" size="2 2 .1"/>'
    ...     '<geom type="sphere" size=".1" pos="0 0 .1" rgba="1 0 0 1"/>'
    ...     '<camera name="cam" pos="0 -1 .1" xyaxes="1 0 0 0 0 1"/></worldbody></mujoco>')
    >>> d = mj.MjData(m); mj.mj_forward(m, d)
    >>> img = ProceduralRenderer(m, 16).render(d)
    >>> img.shape, img.dtype, img[:, 8, 8].tolist()   # the red sphere fills the centre
    ((3, 16, 16), dtype('uint8'), [255, 0, 0])
    """

    def __init__(self, model, size: int):
        from ._sim import import_mujoco

        self.mujoco = import_mujoco()
        self.model, self.size = model, size
        self.cam = self.mujoco.mj_name2id(model, self.mujoco.mjtObj.mjOBJ_CAMERA, "cam")
        if self.cam < 0:
            self.cam = 0
        c = (np.arange(size) + 0.5) / size * 2.0 - 1.0
        self.u, self.v = np.meshgrid(c, -c)  # x right, y up, in [-1, 1]
        self.cols, self.rows = np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5)

    def _rgba(self, g: int) -> np.ndarray:
        mat = self.model.geom_matid[g]
        rgba = np.array(self.model.geom_rgba[g], dtype=np.float64)
        if mat >= 0 and np.allclose(rgba, [0.5, 0.5, 0.5, 1.0]):  # MuJoCo's default: use the material's
            rgba = np.array(self.model.mat_rgba[mat], dtype=np.float64)
        return rgba

    def render(self, data) -> np.ndarray:
        """The image ``(3, size, size)`` uint8 of the current (forwarded) ``data``."""
        m, s = self.model, self.size
        pos = np.array(data.cam_xpos[self.cam])
        rot = np.array(data.cam_xmat[self.cam]).reshape(3, 3)  # columns: right, up, backward
        tan = np.tan(np.deg2rad(m.cam_fovy[self.cam]) / 2.0)
        f = s / (2.0 * tan)  # focal length in pixels
        img = np.zeros((s, s, 3))
        # floor: rays through each pixel hitting z = 0
        dirs = rot @ np.stack([self.u * tan, self.v * tan, -np.ones_like(self.u)]).reshape(3, -1)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(dirs[2] < 0, -pos[2] / dirs[2], np.inf)
        hit = pos[:, None] + dirs * np.where(np.isfinite(t), t, 0.0)
        on = np.isfinite(t) & (np.abs(hit[0]) <= 2.0) & (np.abs(hit[1]) <= 2.0)
        parity = (np.floor(hit[0] / _FLOOR_CELL) + np.floor(hit[1] / _FLOOR_CELL)).astype(int) % 2
        floor = np.where(parity[:, None] == 0, _FLOOR_RGB[0], _FLOOR_RGB[1])
        img.reshape(-1, 3)[on] = floor[on]

        def project(p):
            q = rot.T @ (np.asarray(p) - pos)
            depth = -q[2]
            return np.array([s / 2 + f * q[0] / depth, s / 2 - f * q[1] / depth]), depth

        items = []
        gt = self.mujoco.mjtGeom
        plane, box, sphere = int(gt.mjGEOM_PLANE), int(gt.mjGEOM_BOX), int(gt.mjGEOM_SPHERE)
        segments = (int(gt.mjGEOM_CAPSULE), int(gt.mjGEOM_CYLINDER))
        for g in range(m.ngeom):
            rgba = self._rgba(g)
            if rgba[3] <= 0 or int(m.geom_type[g]) == plane:
                continue
            c = np.array(data.geom_xpos[g])
            centre, depth = project(c)
            if depth <= 0.01:
                continue
            items.append((depth, g, rgba, c))
        for depth, g, rgba, c in sorted(items, key=lambda it: -it[0]):
            size, typ = m.geom_size[g], int(m.geom_type[g])
            R = np.array(data.geom_xmat[g]).reshape(3, 3)
            if typ == box:
                corners = np.array([project(c + R @ (np.array([i, j, k]) * size))[0]
                                    for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)])
                hull = _hull(corners)
                mask = np.ones((s, s), dtype=bool)
                for a, b in zip(hull, np.roll(hull, -1, axis=0)):
                    mask &= (b[0] - a[0]) * (self.rows - a[1]) - (b[1] - a[1]) * (self.cols - a[0]) >= 0
            elif typ in segments:
                (p0, d0), (p1, d1) = project(c - R[:, 2] * size[1]), project(c + R[:, 2] * size[1])
                r = f * size[0] / max(min(d0, d1), 0.01)
                seg = p1 - p0
                px = np.stack([self.cols - p0[0], self.rows - p0[1]])
                tt = np.clip((px[0] * seg[0] + px[1] * seg[1]) / max(seg @ seg, 1e-12), 0.0, 1.0)
                mask = (px[0] - tt * seg[0]) ** 2 + (px[1] - tt * seg[1]) ** 2 <= max(r, 0.5) ** 2
            else:  # spheres and anything else: a disc of the geom's bounding radius
                centre, _ = project(c)
                r = f * float(m.geom_rbound[g] if typ != sphere else size[0]) / depth
                mask = (self.cols - centre[0]) ** 2 + (self.rows - centre[1]) ** 2 <= max(r, 0.5) ** 2
            img[mask] = rgba[3] * rgba[:3] + (1.0 - rgba[3]) * img[mask]
        return np.ascontiguousarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(2, 0, 1))

    def close(self) -> None:
        """Nothing to free (present for symmetry with ``mujoco.Renderer``)."""
