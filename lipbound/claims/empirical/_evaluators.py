r"""How the empirical claims (``emp-*``, Sections 5.4-5.9) are decided; each claim's folder
(``lipbound/claims/emp_*/evaluators.py``) says which decision each of its readings uses.

Each reading is decided **per dataset, on every trial at once** (:mod:`._stats`): the fusions'
per-trial values are paired by trial index (the same seed), the effect the statement claims is
estimated with a 95 % confidence interval, and the dataset's case is

* ``supported`` (``ok``) when the interval lies entirely on the claimed side for every comparison
  the statement makes (attention against sum *and* against concat, ...);
* ``opposite`` (a counterexample) when the interval of some comparison lies entirely on the other
  side: the data says the opposite of the statement;
* ``inconclusive`` otherwise (an :class:`~lipbound.claims.Outcome` with ``decided=False``): the
  runs neither support nor contradict it, and the reading is ``not-proven`` on them.

The readings are tendencies (``kind="tendency"``): a reading with an ``opposite`` case is reported
``not-supported`` (our runs say the opposite), never ``refuted``.

One fixed case per applicable dataset; no sampled cases (the data are the runs, not draws). A
single trial that disagrees refutes nothing. Every case records the means, the effect with its
interval, the test and the number of trials, and the data source (committed results, a results
directory, or the tiny sweep when asked for). ``measured`` / ``bound`` are the compared quantities
(attention's mean and the best rival's, ...), so ``ratio = measured / bound`` is the margin for
positive quantities. When the chosen results hold no data for a reading (e.g. no trimodal
dataset), the reading is not decided on other data: its one case is undecided and says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._ledger import Evaluator, Outcome
from ._source import Results, load_results
from ._stats import describe, paired_bootstrap, paired_difference, paired_log_ratio, variance_ratio, verdict

@dataclass(frozen=True)
class Spec:
    """One reading: which datasets apply, and the decision on one dataset.

    ``decide(res, dataset) -> (verdict, measured, bound, info)`` with verdict ``supported``,
    ``opposite`` or ``inconclusive`` (see the module docstring)."""

    applies: Callable[[Results, str], bool]
    decide: Callable[[Results, str], tuple[str, float, float, dict]]
    method: str


def _results_for(spec: Spec, choice: str) -> tuple[Results, list[str]]:
    res = load_results(choice)
    return res, [d for d in res.datasets if spec.applies(res, d)]


def combine(verdicts: list[str]) -> str:
    """All comparisons of a statement: ``opposite`` if any is, ``supported`` if all are, else
    ``inconclusive``.

    >>> combine(["supported", "inconclusive"]), combine(["supported", "opposite"]), combine(["supported"] * 2)
    ('inconclusive', 'opposite', 'supported')
    """
    if "opposite" in verdicts:
        return "opposite"
    return "supported" if verdicts and all(v == "supported" for v in verdicts) else "inconclusive"


def make_evaluator(spec: Spec) -> Evaluator:
    """An :class:`~lipbound.claims.Evaluator` for ``spec``: one fixed case per applicable dataset of
    the results the run's fixtures choose (``Fixtures.results``); each case names them."""

    def fixed(fixtures):
        res, ds = _results_for(spec, fixtures.results)
        return [{"dataset": d, "results": fixtures.results} for d in ds] or [{"dataset": None, "results": fixtures.results}]

    def evaluate(case):
        res, _ = _results_for(spec, case.get("results", "committed"))
        d = case["dataset"]
        if d is None:  # the chosen results hold no data for this reading: decided on nothing else
            info = {"source": res.label, "path": str(res.path), "verdict": "no data"}
            return Outcome(False, math.nan, math.nan, info,
                           f"no data for this reading in {res.label} (fusions, trials, lambdas or modalities "
                           "missing)", decided=False)
        v, measured, bound, info = spec.decide(res, d)
        cex = {"dataset": d, "source": res.label, "path": str(res.path), "verdict": v, **info}
        summary = info.get("summary", "")
        return Outcome(v == "supported", float(measured), float(bound), cex,
                       f"{d}: {v}; {summary}; {res.label}", decided=v != "inconclusive")

    return Evaluator(sample=None, evaluate=evaluate, method=spec.method, fixed_cases=fixed)


# ----------------------------------------------------------------------------- helpers
def _paired(a: dict[int, float], b: dict[int, float]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    trials = sorted(set(a) & set(b))
    return np.array([a[t] for t in trials]), np.array([b[t] for t in trials]), trials


def _positive(x: np.ndarray) -> bool:
    return bool(x.size) and bool(np.all(np.isfinite(x))) and bool(np.all(x > 0))


def _compare(name: str, a: dict[int, float], b: dict[int, float], claimed: str, *, scale: str = "ratio",
             factor: float = 1.0) -> tuple[str, dict]:
    """Verdict and interval of one paired comparison of ``factor * a`` with ``b`` (``claimed``:
    ``below`` or ``above``); log ratios for positive values, differences otherwise."""
    x, y, trials = _paired(a, b)
    x = factor * x
    if scale == "ratio" and _positive(x) and _positive(y):
        iv = paired_log_ratio(x, y)
    else:
        iv = paired_difference(x, y)
    return verdict(iv, claimed), {"comparison": name, "claimed": claimed, "trials": trials, **iv,
                                  "text": describe(iv)}


# ---------------------------------------------------------------- fusion comparisons
def _has_att_and(*others):
    def ok(res: Results, d: str) -> bool:
        return res.attention(d) is not None and all(o in res.fusions(d) for o in others)

    return ok


def bimodal_or_more(res: Results, d: str) -> bool:
    return _has_att_and("sum", "concat")(res, d)


def trimodal_only(res: Results, d: str) -> bool:
    return len(res.modalities.get(d, ())) >= 3 and _has_att_and("sum", "concat")(res, d)


def att_lowest(submodule: str, metric: str, kind: str, factor: float = 1.0):
    """Attention's (times ``factor``) per-trial value is below sum's and below concat's."""

    def decide(res: Results, d: str):
        att = res.attention(d)
        vals = {"sum": res.final_by_trial(d, "sum", submodule, metric, kind),
                "concat": res.final_by_trial(d, "concat", submodule, metric, kind),
                "attention": res.final_by_trial(d, att, submodule, metric, kind)}
        means = {k: float(np.mean(list(v.values()))) for k, v in vals.items()}
        comps = [_compare(f"{factor:g} x attention vs {r}" if factor != 1 else f"attention vs {r}",
                          vals["attention"], vals[r], "below", factor=factor) for r in ("sum", "concat")]
        v = combine([c[0] for c in comps])
        best = min(("sum", "concat"), key=lambda k: means[k])
        info = {"attention_variant": att, "means": means, "best_rival": best, "factor": factor,
                "comparisons": [c[1] for c in comps],
                "summary": "; ".join(f"{c[1]['comparison']}: {c[0]}, {c[1]['text']}" for c in comps)}
        return v, factor * means["attention"], means[best], info

    return decide


def _crossing(epochs: np.ndarray, curve: np.ndarray, level: float) -> float:
    """First (linearly interpolated) epoch at which ``curve`` reaches ``level`` (inf if never)."""
    for i, v in enumerate(curve):
        if v <= level:
            if i == 0:
                return float(epochs[0])
            a, b = curve[i - 1], v
            return float(epochs[i - 1] + (epochs[i] - epochs[i - 1]) * (a - level) / (a - b))
    return float("inf")


def att_fastest(res: Results, d: str):
    """Per trial, the epoch at which the training loss first reaches the level every fusion's
    trial-mean curve reaches (the largest final trial-mean loss); a trial that never reaches it
    counts as one epoch after its last (censored, stated in the record)."""
    att = res.attention(d)
    fus = {"sum": "sum", "concat": "concat", "attention": att}
    curves = {k: res.curves_by_trial(d, f, "model", "train_loss", "loss") for k, f in fus.items()}
    finals = {k: float(np.mean([c[max(c)] for c in cv.values()])) for k, cv in curves.items()}
    level = max(finals.values())
    epochs_to, censored = {}, {}
    for k, cv in curves.items():
        epochs_to[k], censored[k] = {}, 0
        for t, c in cv.items():
            ep = np.array(sorted(c), float)
            x = _crossing(ep, np.array([c[int(e)] for e in ep]), level)
            if not math.isfinite(x):
                x, censored[k] = float(ep[-1] + 1), censored[k] + 1
            epochs_to[k][t] = x
    comps = [_compare(f"attention vs {r}", epochs_to["attention"], epochs_to[r], "below", scale="difference")
             for r in ("sum", "concat")]
    v = combine([c[0] for c in comps])
    means = {k: float(np.mean(list(e.values()))) for k, e in epochs_to.items()}
    best = min(("sum", "concat"), key=lambda k: means[k])
    info = {"attention_variant": att, "level": level, "mean_epochs_to_level": means, "censored_trials": censored,
            "best_rival": best, "comparisons": [c[1] for c in comps],
            "summary": "; ".join(f"{c[1]['comparison']} (epochs to level {level:.4g}): {c[0]}, {c[1]['text']}"
                                 for c in comps)}
    return v, means["attention"], means[best], info


def variance_decision(metric: str):
    def applies(res: Results, d: str) -> bool:
        return all(len(res.final_by_trial(d, f, "model", metric, "loss")) >= 2 for f in ("sum", "concat"))

    def decide(res: Results, d: str):
        a = np.array(list(res.final_by_trial(d, "concat", "model", metric, "loss").values()))
        b = np.array(list(res.final_by_trial(d, "sum", "model", metric, "loss").values()))
        iv = variance_ratio(a, b)
        v = verdict(iv, "below")
        info = {"sd_ratio_concat_over_sum": iv, "summary": f"sd(concat)/sd(sum): {v}, {describe(iv)}"}
        return v, float(np.std(a, ddof=1)), float(np.std(b, ddof=1)), info

    return applies, decide


# ---------------------------------------------------------------- detection
def det_applies(res: Results, d: str) -> bool:
    att = res.attention(d)
    return att is not None and all((d, f) in res.detection for f in ("sum", "concat", att))


def _det(res: Results, d: str) -> tuple[str, dict[str, dict[int, tuple[float, float, float]]]]:
    att = res.attention(d)
    return att, {k: res.youden_by_trial(d, f) for k, f in (("sum", "sum"), ("concat", "concat"), ("attention", att))}


def det_youden(res: Results, d: str):
    att, vals = _det(res, d)
    j = {k: {t: x[0] for t, x in v.items()} for k, v in vals.items()}
    comps = [_compare(f"Youden J attention vs {r}", j["attention"], j[r], "above", scale="difference")
             for r in ("sum", "concat")]
    v = combine([c[0] for c in comps])
    means = {k: float(np.mean(list(x.values()))) for k, x in j.items()}
    best = max(("sum", "concat"), key=lambda k: means[k])
    # measured < bound when attention separates better: measured = best rival's J, bound = attention's
    info = {"attention_variant": att, "youden_means": means, "best_rival": best,
            "comparisons": [c[1] for c in comps],
            "summary": "; ".join(f"{c[1]['comparison']}: {c[0]}, {c[1]['text']}" for c in comps)}
    return v, means[best], means["attention"], info


def det_both(res: Results, d: str):
    att, vals = _det(res, d)
    tpr = {k: {t: x[1] for t, x in v.items()} for k, v in vals.items()}
    fpr = {k: {t: x[2] for t, x in v.items()} for k, v in vals.items()}
    comps = [_compare(f"TPR attention vs {r}", tpr["attention"], tpr[r], "above", scale="difference")
             for r in ("sum", "concat")]
    comps += [_compare(f"FPR attention vs {r}", fpr["attention"], fpr[r], "below", scale="difference")
              for r in ("sum", "concat")]
    v = combine([c[0] for c in comps])
    mt = {k: float(np.mean(list(x.values()))) for k, x in tpr.items()}
    mf = {k: float(np.mean(list(x.values()))) for k, x in fpr.items()}
    info = {"attention_variant": att, "tpr": mt, "fpr": mf, "comparisons": [c[1] for c in comps],
            "summary": "; ".join(f"{c[1]['comparison']}: {c[0]}, {c[1]['text']}" for c in comps)}
    return v, max(mt["sum"], mt["concat"]), mt["attention"], info


# ---------------------------------------------------------------- lambda ablation
ABLATION_FUSION = "attention-regularized-scaled"


def lam_applies(res: Results, d: str) -> bool:
    return len(res.lam_by_trial(d, ABLATION_FUSION, "model", "lipschitz", "lower")) >= 3


def _lam_matrix(res: Results, d: str, submodule: str, metric: str, kind: str) -> tuple[list[float], np.ndarray, list[int]]:
    """(lambdas, values of shape (trials, lambdas), trials) over the trials every lambda has."""
    by = res.lam_by_trial(d, ABLATION_FUSION, submodule, metric, kind)
    lams = sorted(by)
    trials = sorted(set.intersection(*(set(v) for v in by.values()))) if by else []
    return lams, np.array([[by[lam][t] for lam in lams] for t in trials]).reshape(len(trials), len(lams)), trials


def _interior_gap(m: np.ndarray) -> float:
    means = m.mean(axis=0)
    return float(means[1:-1].min() - min(means[0], means[-1]))


def _largest_log_step(m: np.ndarray) -> float:
    means = m.mean(axis=0)
    if np.any(means <= 0):
        return float(np.max(np.diff(means)))
    return float(np.max(np.diff(np.log(means))))


def lam_interior(res: Results, d: str):
    lams, m, trials = _lam_matrix(res, d, "model", "lipschitz", "lower")
    iv = paired_bootstrap(_interior_gap, [m], seed=0)
    v = verdict(iv, "below")
    means = m.mean(axis=0) if m.size else np.array([])
    interior = float(means[1:-1].min()) if means.size >= 3 else math.nan
    ends = float(min(means[0], means[-1])) if means.size else math.nan
    info = {"means_by_lambda": {f"{k:g}": float(x) for k, x in zip(lams, means)}, "trials": trials,
            "argmin_lambda": lams[int(np.argmin(means))] if means.size else None, "interval": iv,
            "summary": f"min interior mean - min end mean: {v}, {describe(iv)}"}
    return v, interior, ends, info


def lam_decreasing(res: Results, d: str):
    lams, m, trials = _lam_matrix(res, d, "model", "param_norm", "other")
    iv = paired_bootstrap(_largest_log_step, [m], seed=0)
    v = verdict(iv, "below")
    means = m.mean(axis=0) if m.size else np.array([])
    info = {"means_by_lambda": {f"{k:g}": float(x) for k, x in zip(lams, means)}, "trials": trials, "interval": iv,
            "summary": f"largest log step of the mean parameter norm (increasing lambda): {v}, {describe(iv)}"}
    worst = math.exp(iv["value"]) if math.isfinite(iv["value"]) else math.nan
    return v, worst, 1.0, info


LOWER_BOUND_METHOD = "whole-model power-iteration lower bound (float64, deflated) at the final epoch"
HOW_RATIO = ("per dataset, every trial: paired by trial index (same seed), 95% t interval of the mean log ratio; "
        "supported if it excludes 1 on the claimed side for both rivals, not-supported if it does on the other side for one")
HOW_DIFFERENCE = ("per dataset, every trial: paired by trial index, 95% t interval of the mean difference; supported if it "
          "excludes 0 on the claimed side for every comparison, not-supported if it does on the other side for one")
