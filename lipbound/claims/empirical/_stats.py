r"""Effect sizes with confidence intervals for the empirical claims: every trial counts, and a
comparison is called only when its interval excludes "no effect".

Trials of different fusions (or lambdas) with the same trial index share a seed (initial weights
and batch order), so comparisons are **paired** by trial index:

* :func:`paired_log_ratio`: for positive quantities (Lipschitz bounds, losses), the per-trial log
  ratios :math:`r_t = \log(a_t / b_t)`, their mean :math:`\bar r` and the Student-t interval
  :math:`\bar r \pm t_{0.975,\,n-1}\, s_r/\sqrt n`, reported as ratios :math:`e^{\bar r}` with
  :math:`[e^{lo}, e^{hi}]`: "a is :math:`e^{\bar r}` times b";
* :func:`paired_difference`: the same on plain differences :math:`a_t - b_t` (Youden indices,
  rates, epochs);
* :func:`variance_ratio`: the ratio of the two samples' standard deviations with the F interval
  :math:`s_a^2/s_b^2 \cdot [1/F_{0.975}(n_a-1, n_b-1),\ 1/F_{0.025}(n_a-1, n_b-1)]` (square-rooted);
  it assumes roughly normal trial values, which the interval's width makes visible;
* :func:`paired_bootstrap`: any statistic of the per-trial arrays, percentile interval over
  ``resamples`` resamplings of the trial indices (the same indices for every array), seeded.

:func:`verdict` turns an interval into ``supported`` (entirely on the side the statement claims),
``opposite`` (entirely on the other side: the data contradicts the statement) or ``inconclusive``
(it contains no effect, or fewer than two trials). The level is :data:`LEVEL` (95 %).

>>> v = paired_log_ratio([1.0, 1.1, 0.9, 1.05], [2.0, 2.3, 1.9, 2.1])
>>> round(v["ratio"], 3), v["n"], verdict(v, "below")
(0.488, 4, 'supported')
>>> verdict(paired_log_ratio([1.0, 2.0], [1.5, 1.5]), "below")
'inconclusive'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

#: confidence level of every interval
LEVEL = 0.95
#: bootstrap resamples (percentile intervals; the seed is stated in each result)
RESAMPLES = 4000


def _t_interval(x: np.ndarray) -> tuple[float, float, float]:
    """(mean, lo, hi) of the Student-t interval of the mean of ``x`` (infinite for n < 2)."""
    from scipy import stats

    n = x.size
    m = float(np.mean(x)) if n else math.nan
    if n < 2:
        return m, -math.inf, math.inf
    s = float(np.std(x, ddof=1))
    h = float(stats.t.ppf(0.5 + LEVEL / 2, n - 1)) * s / math.sqrt(n)
    return m, m - h, m + h


def paired_log_ratio(a: Sequence[float], b: Sequence[float]) -> dict:
    """Mean per-trial log ratio of positive paired values ``a`` and ``b`` and its t interval, as
    ratios (``ratio``, ``lo``, ``hi``); ``scale`` is ``"log-ratio"`` (no effect: 1)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        raise ValueError(f"paired values need the same trials, got {a.shape} and {b.shape}")
    if a.size and (np.any(a <= 0) or np.any(b <= 0)):
        raise ValueError("a log ratio needs positive values")
    m, lo, hi = _t_interval(np.log(a / b))
    return {"test": "paired t on per-trial log ratios", "scale": "ratio", "null": 1.0, "n": int(a.size),
            "ratio": math.exp(m) if math.isfinite(m) else math.nan, "lo": math.exp(lo), "hi": math.exp(hi),
            "level": LEVEL}


def paired_difference(a: Sequence[float], b: Sequence[float]) -> dict:
    """Mean per-trial difference ``a - b`` of paired values and its t interval (no effect: 0)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        raise ValueError(f"paired values need the same trials, got {a.shape} and {b.shape}")
    m, lo, hi = _t_interval(a - b)
    return {"test": "paired t on per-trial differences", "scale": "difference", "null": 0.0, "n": int(a.size),
            "difference": m, "lo": lo, "hi": hi, "level": LEVEL}


def variance_ratio(a: Sequence[float], b: Sequence[float]) -> dict:
    """Ratio of the sample standard deviations sd(a)/sd(b) and its F interval (no effect: 1)."""
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    na, nb = a.size, b.size
    out = {"test": "F interval of the variance ratio (square-rooted)", "scale": "ratio", "null": 1.0,
           "n": int(min(na, nb)), "n_a": int(na), "n_b": int(nb), "level": LEVEL}
    if na < 2 or nb < 2:
        return {**out, "ratio": math.nan, "lo": 0.0, "hi": math.inf}
    sa, sb = float(np.std(a, ddof=1)), float(np.std(b, ddof=1))
    if sb == 0.0:
        return {**out, "ratio": math.inf if sa > 0 else math.nan, "lo": 0.0, "hi": math.inf}
    r2 = (sa / sb) ** 2
    f_hi = float(stats.f.ppf(0.5 + LEVEL / 2, na - 1, nb - 1))
    f_lo = float(stats.f.ppf(0.5 - LEVEL / 2, na - 1, nb - 1))
    return {**out, "ratio": sa / sb, "lo": math.sqrt(r2 / f_hi), "hi": math.sqrt(r2 / f_lo), "sd_a": sa, "sd_b": sb}


def paired_bootstrap(stat: Callable[..., float], arrays: Sequence[np.ndarray], *, seed: int = 0,
                     resamples: int = RESAMPLES, null: float = 0.0) -> dict:
    """``stat(*arrays)`` and its percentile interval over resamplings of the trial index (axis 0 of
    every array, the same indices for all: pairing is kept). Fewer than two trials: no interval."""
    arrays = [np.asarray(x, float) for x in arrays]
    n = min(x.shape[0] for x in arrays)
    arrays = [x[:n] for x in arrays]
    value = float(stat(*arrays))
    out = {"test": f"paired bootstrap over trials ({resamples} resamples, seed {seed})", "scale": "statistic",
           "null": null, "n": int(n), "value": value, "level": LEVEL}
    if n < 2:
        return {**out, "lo": -math.inf, "hi": math.inf}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(resamples, n))
    vals = np.array([stat(*(x[i] for x in arrays)) for i in idx], dtype=float)
    vals = vals[np.isfinite(vals)]
    if vals.size < resamples // 2:
        return {**out, "lo": -math.inf, "hi": math.inf}
    lo, hi = np.quantile(vals, [0.5 - LEVEL / 2, 0.5 + LEVEL / 2])
    return {**out, "lo": float(lo), "hi": float(hi)}


def verdict(interval: dict, claimed: str) -> str:
    """``supported``, ``opposite`` or ``inconclusive`` for an interval of :func:`paired_log_ratio`,
    :func:`paired_difference`, :func:`variance_ratio` or :func:`paired_bootstrap`, when the statement
    claims the effect lies ``"below"`` or ``"above"`` the interval's ``null``."""
    if claimed not in ("below", "above"):
        raise ValueError(f"claimed must be 'below' or 'above', got {claimed!r}")
    lo, hi, null = interval["lo"], interval["hi"], interval["null"]
    if not (math.isfinite(lo) or math.isfinite(hi)) or interval["n"] < 2:
        return "inconclusive"
    below, above = hi < null, lo > null
    if claimed == "below":
        return "supported" if below else ("opposite" if above else "inconclusive")
    return "supported" if above else ("opposite" if below else "inconclusive")


def describe(interval: dict) -> str:
    """One line: the effect and its interval, the test and the number of trials."""
    pct = f"{int(round(100 * interval['level']))}%"
    if interval["scale"] == "ratio":
        core = f"ratio {interval['ratio']:.3g} [{interval['lo']:.3g}, {interval['hi']:.3g}]"
    elif interval["scale"] == "difference":
        core = f"difference {interval['difference']:.3g} [{interval['lo']:.3g}, {interval['hi']:.3g}]"
    else:
        core = f"statistic {interval['value']:.3g} [{interval['lo']:.3g}, {interval['hi']:.3g}]"
    return f"{core} ({pct} CI, {interval['test']}, {interval['n']} trials)"
