r"""Downstream failure detection on fused latents (Section 5.7).

Kernel PCA (scikit-learn) is fitted on the fused latents :math:`z` of clean training data; in its space the Mahalanobis distance to the clean training mean,

.. math::

    d(z) = \sqrt{(\phi(z) - \mu)^\top \Sigma^{-1} (\phi(z) - \mu)},

with :math:`\mu, \Sigma` the mean and covariance of the clean training projections (ridge
:math:`10^{-6}\,\mathrm{tr}(\Sigma)/k` so that :math:`\Sigma` is invertible), scores each sample.
The threshold is the 95th percentile of the clean *training* distances; a test sample is flagged
faulty when its distance exceeds it. Clean test samples are the negatives, corrupted test samples
the positives: TPR = TP / (TP + FN), FPR = FP / (FP + TN), confusion ``[[tn, fp], [fn, tp]]``.

The paper does not name its kernel. lipbound uses a degree-2 polynomial kernel
:math:`k(a, b) = (\gamma\, a^\top b + 1)^2` with :math:`\gamma = 1/(d\,\mathrm{var})` by default:
with an RBF kernel, a latent far from all clean latents has kernel values :math:`\approx 0` and
projects close to the *centre* of the clean cloud, so gross failures go undetected (a blind spot
``kernel="rbf"`` shows on shifted data); polynomial features grow with the distance instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: percentile of the clean training distances used as the threshold (Section 5.7)
PERCENTILE = 95.0
#: kernel PCA components (at most the number of clean samples minus one)
N_COMPONENTS = 8
#: at most this many clean training latents fit the kernel PCA (its cost is cubic in the count)
MAX_FIT = 512
#: distances kept per row of detection.jsonl
MAX_DISTANCES = 500


@dataclass
class Detector:
    """A fitted kernel PCA + Mahalanobis scorer (:func:`fit_detector`)."""

    kpca: object
    mean: np.ndarray
    precision: np.ndarray
    threshold: float

    def distances(self, z: np.ndarray) -> np.ndarray:
        """Mahalanobis distances of latents ``z`` (n, d) in kernel-PCA space."""
        p = self.kpca.transform(np.asarray(z, dtype=np.float64)) - self.mean
        return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", p, self.precision, p), 0.0))


def fit_indices(n: int, seed: int) -> np.ndarray:
    """The rows of ``n`` clean training samples that :func:`fit_detector` fits on: all of them when
    ``n <= MAX_FIT``, else ``np.random.default_rng(seed).choice(n, MAX_FIT, replace=False)`` (in that
    order): :func:`fit_detector` subsamples with this very rule, so encoding only these rows and
    fitting on them gives the detector that fitting on all rows gives.

    >>> fit_indices(3, 0).tolist(), len(fit_indices(10_000, 0))
    ([0, 1, 2], 512)
    """
    if n <= MAX_FIT:
        return np.arange(n)
    return np.random.default_rng(seed).choice(n, MAX_FIT, replace=False)


def fit_detector(clean: np.ndarray, *, n_components: int = N_COMPONENTS, seed: int = 0,
                 percentile: float = PERCENTILE, kernel: str = "poly") -> Detector:
    """Fit the detector on clean latents ``clean`` (n, d), at most :data:`MAX_FIT` of them (the rows
    :func:`fit_indices` picks); ``kernel`` ``"poly"`` (degree 2, the default) or any scikit-learn
    kernel name, with ``gamma = 1 / (d var)``.

    >>> rng = np.random.default_rng(0)
    >>> det = fit_detector(rng.normal(size=(200, 3)))
    >>> float(np.mean(det.distances(rng.normal(size=(200, 3)) + 20.0) > det.threshold))
    1.0
    """
    from sklearn import decomposition

    clean = np.asarray(clean, dtype=np.float64)
    if clean.shape[0] > MAX_FIT:
        clean = clean[fit_indices(clean.shape[0], seed)]
    k = max(1, min(n_components, clean.shape[0] - 1, clean.shape[1] * 4))
    var = float(clean.var()) or 1.0
    extra = {"degree": 2, "coef0": 1.0} if kernel == "poly" else {}
    kpca = decomposition.KernelPCA(n_components=k, kernel=kernel, gamma=1.0 / (clean.shape[1] * var),
                                   random_state=seed, **extra)
    proj = kpca.fit_transform(clean)
    mean = proj.mean(axis=0)
    cov = np.atleast_2d(np.cov(proj, rowvar=False))
    cov = cov + np.eye(cov.shape[0]) * (1e-6 * max(float(np.trace(cov)) / cov.shape[0], 1e-12))
    precision = np.linalg.inv(cov)
    det = Detector(kpca, mean, precision, 0.0)
    det.threshold = float(np.percentile(det.distances(clean), percentile))
    return det


def detection_metrics(det: Detector, clean_test: np.ndarray, faulty: np.ndarray, *, seed: int = 0) -> dict:
    """TPR, FPR, confusion matrix and (subsampled) distances of clean test vs faulty latents.

    >>> rng = np.random.default_rng(1)
    >>> det = fit_detector(rng.normal(size=(300, 2)))
    >>> m = detection_metrics(det, rng.normal(size=(100, 2)), rng.normal(size=(50, 2)) + 30.0)
    >>> m["tpr"], m["confusion"][1]
    (1.0, [0, 50])
    """
    dc, df = det.distances(clean_test), det.distances(faulty)
    fp = int(np.sum(dc > det.threshold))
    tn = int(dc.size - fp)
    tp = int(np.sum(df > det.threshold))
    fn = int(df.size - tp)
    rng = np.random.default_rng(seed)

    def sub(d: np.ndarray) -> list[float]:
        if d.size > MAX_DISTANCES:
            d = d[np.sort(rng.choice(d.size, MAX_DISTANCES, replace=False))]
        return [float(v) for v in d]

    return {"threshold": float(det.threshold), "tpr": tp / max(tp + fn, 1), "fpr": fp / max(fp + tn, 1),
            "confusion": [[tn, fp], [fn, tp]], "distances_clean": sub(dc), "distances_faulty": sub(df)}
