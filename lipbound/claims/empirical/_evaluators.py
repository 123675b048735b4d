r"""Evaluators of the empirical claims (:mod:`lipbound.claims.statements.empirical`).

Each reading compares per-trial numbers of a results directory (:class:`~._source.Results`).
Fixed cases: one per applicable dataset, on the trial means. Sampled cases cycle through the
datasets and trials: trial ``t`` alone, with the same trial index (hence the same seed) for every
fusion or lambda ("paired"), or, for the variance readings, all trials but ``t`` ("jackknife").
So ``holds`` means the statement held on the means *and in every trial* ("consistently", as the
paper says); the row's ``cases`` counts evaluations, which repeat once all trials are visited. An :class:`~lipbound.claims.Outcome` compares
``measured`` (attention's value, or the quantity the statement says is smaller) with ``bound``
(the best competitor): ``ok`` is ``measured < bound``, so ``ratio = measured / bound < 1`` is
the margin by which the statement held (for positive quantities). The counterexample and the
label name the data source (results directory or built-in tiny sweep), the dataset and the means.
When the chosen results directory has no data for a reading (e.g. no trimodal dataset), the
reading falls back to the built-in tiny sweep and its labels say so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._ledger import Evaluator, Outcome
from ._source import Results, _ensure_tiny, load_results

_tiny: dict[str, Results] = {}


def _tiny_results() -> Results:
    p = _ensure_tiny()
    key = str(p)
    if key not in _tiny:
        _tiny[key] = Results(p, "built-in tiny sweep (fallback: the results dir has no data for this reading)")
    return _tiny[key]


@dataclass(frozen=True)
class _Spec:
    """One reading: which datasets apply, the per-trial values, and the decision on (resampled) values."""

    applies: Callable[[Results, str], bool]
    values: Callable[[Results, str], dict]
    decide: Callable[[dict, Results, str], tuple[bool, float, float, dict]]
    method: str
    mode: str = "paired"


def _results_for(spec: _Spec) -> tuple[Results, list[str]]:
    res = load_results()
    ds = [d for d in res.datasets if spec.applies(res, d)]
    if not ds:
        res = _tiny_results()
        ds = [d for d in res.datasets if spec.applies(res, d)]
    return res, ds


def _select(vals: dict, case: dict) -> dict:
    """The trials a case looks at: all (``trial`` None), only trial ``t`` (``paired``: the same
    trial index, i.e. the same seed, of every fusion or lambda), or all but trial ``t`` (``jackknife``)."""
    t = case.get("trial")
    if t is None:
        return vals
    out = {}
    for k, v in vals.items():
        if k.startswith("_") if isinstance(k, str) else False:
            out[k] = v
        elif case["mode"] == "paired":
            out[k] = v[[t % len(v)]]
        else:
            out[k] = np.delete(v, t % len(v), axis=0) if len(v) >= 3 else v
    return out


def make_evaluator(spec: _Spec) -> Evaluator:
    """An :class:`~lipbound.claims.Evaluator` for ``spec``: fixed cases on the trial means of every
    applicable dataset; sampled case ``k`` cycles through datasets and trials (``paired``: trial
    ``t`` alone, the same seed for every fusion; ``jackknife``: all trials but ``t``)."""

    def fixed():
        res, ds = _results_for(spec)
        return [{"dataset": d, "trial": None, "mode": spec.mode} for d in ds]

    def sample(rng, k):
        res, ds = _results_for(spec)
        if not ds:
            return {"dataset": None, "trial": None, "mode": spec.mode}
        return {"dataset": ds[k % len(ds)], "trial": k // len(ds), "mode": spec.mode}

    def evaluate(case):
        res, _ = _results_for(spec)
        d = case["dataset"]
        if d is None:  # no data even in the tiny sweep: cannot happen with the tiny preset's contents
            return Outcome(False, float("nan"), float("nan"), {"error": "no data for this reading"}, "no data")
        full = spec.values(res, d)
        vals = _select(full, case)
        ok, measured, bound, info = spec.decide(vals, res, d)
        n = min(len(v) for k, v in full.items() if not str(k).startswith("_"))
        if case["trial"] is None:
            kind = "trial means"
        elif case["mode"] == "paired":
            kind = f"trial {case['trial'] % n} alone"
        else:
            kind = f"all trials but trial {case['trial'] % n}" if n >= 3 else "all trials (fewer than 3: no jackknife)"
        cex = {"dataset": d, "source": res.label, "path": str(res.path), "case": kind, **info}
        return Outcome(bool(ok), float(measured), float(bound), cex, f"{d}: {kind}; {res.label}")

    return Evaluator(sample=sample, evaluate=evaluate, method=spec.method, fixed_cases=fixed)


# ---------------------------------------------------------------- fusion comparisons
def _has_att_and(*others):
    def ok(res: Results, d: str) -> bool:
        return res.attention(d) is not None and all(o in res.fusions(d) for o in others)

    return ok


def _final_values(submodule: str, metric: str, kind: str, fusions=("sum", "concat")):
    def values(res: Results, d: str) -> dict:
        att = res.attention(d)
        out = {f: res.final(d, f, submodule, metric, kind) for f in fusions}
        if att is not None:
            out["attention"] = res.final(d, att, submodule, metric, kind)
        return {k: v for k, v in out.items() if v.size}

    return values


def _att_lowest(factor: float = 1.0):
    def decide(vals: dict, res: Results, d: str):
        means = {k: float(np.mean(v)) for k, v in vals.items()}
        rivals = {k: m for k, m in means.items() if k != "attention"}
        best = min(rivals, key=rivals.get)
        measured = factor * means["attention"]
        return measured < rivals[best], measured, rivals[best], {
            "attention_variant": res.attention(d), "means": means, "stds": {k: float(np.std(v, ddof=1)) if v.size > 1
                                                                            else 0.0 for k, v in vals.items()},
            "best_rival": best, "factor": factor}

    return decide


def _trimodal(res: Results, d: str) -> bool:
    return len(res.modalities.get(d, ())) >= 3 and _has_att_and("sum", "concat")(res, d)


def _bimodal_or_more(res: Results, d: str) -> bool:
    return _has_att_and("sum", "concat")(res, d)


def _crossing(epochs: np.ndarray, curve: np.ndarray, level: float) -> float:
    """First (linearly interpolated) epoch at which ``curve`` reaches ``level`` (inf if never)."""
    for i, v in enumerate(curve):
        if v <= level:
            if i == 0:
                return float(epochs[0])
            a, b = curve[i - 1], v
            return float(epochs[i - 1] + (epochs[i] - epochs[i - 1]) * (a - level) / (a - b))
    return float("inf")


def _curve_values(res: Results, d: str) -> dict:
    att = res.attention(d)
    out = {}
    for key, f in (("sum", "sum"), ("concat", "concat"), ("attention", att)):
        ep, c = res.curve(d, f, "model", "train_loss", "loss")
        if c.size:
            out[key] = c
            out.setdefault("_epochs", np.tile(ep, (1, 1)))
    return out


def _fastest(vals: dict, res: Results, d: str):
    ep = vals.pop("_epochs")[0]
    means = {k: v.mean(axis=0) for k, v in vals.items()}
    level = max(float(m[-1]) for m in means.values())
    t = {k: _crossing(ep, m, level) for k, m in means.items()}
    rivals = {k: v for k, v in t.items() if k != "attention"}
    best = min(rivals, key=rivals.get)
    return t["attention"] < rivals[best], t["attention"], rivals[best], {
        "attention_variant": res.attention(d), "level": level, "epochs_to_level": t, "best_rival": best}


def _variance(metric: str):
    def values(res: Results, d: str) -> dict:
        return {f: res.final(d, f, "model", metric, "loss") for f in ("sum", "concat")}

    def decide(vals: dict, res: Results, d: str):
        sd = {k: float(np.std(v, ddof=1)) if v.size > 1 else 0.0 for k, v in vals.items()}
        return sd["concat"] < sd["sum"], sd["concat"], sd["sum"], {"std": sd, "trials": {k: int(v.size) for k, v in vals.items()}}

    def applies(res: Results, d: str) -> bool:
        return all(res.final(d, f, "model", metric, "loss").size >= 2 for f in ("sum", "concat"))

    return applies, values, decide


# ---------------------------------------------------------------- detection
def _det_applies(res: Results, d: str) -> bool:
    att = res.attention(d)
    return att is not None and all((d, f) in res.detection for f in ("sum", "concat", att))


def _det_values(res: Results, d: str) -> dict:
    att = res.attention(d)
    out = {}
    for key, f in (("sum", "sum"), ("concat", "concat"), ("attention", att)):
        j, tpr, fpr = res.youden(d, f)
        out[key] = np.stack([j, tpr, fpr], axis=1)
    return out


def _det_youden(vals: dict, res: Results, d: str):
    means = {k: float(v[:, 0].mean()) for k, v in vals.items()}
    rivals = {k: m for k, m in means.items() if k != "attention"}
    best = max(rivals, key=rivals.get)
    # measured < bound means attention separates better: measured = best rival's J, bound = attention's J
    return rivals[best] < means["attention"], rivals[best], means["attention"], {
        "attention_variant": res.attention(d), "youden_means": means, "best_rival": best}


def _det_both(vals: dict, res: Results, d: str):
    tpr = {k: float(v[:, 1].mean()) for k, v in vals.items()}
    fpr = {k: float(v[:, 2].mean()) for k, v in vals.items()}
    rivals = [k for k in vals if k != "attention"]
    ok = all(tpr["attention"] > tpr[k] and fpr["attention"] < fpr[k] for k in rivals)
    best_tpr = max(tpr[k] for k in rivals)
    return ok, best_tpr, tpr["attention"], {"attention_variant": res.attention(d), "tpr": tpr, "fpr": fpr}


# ---------------------------------------------------------------- lambda ablation
ABLATION_FUSION = "attention-regularized-scaled"


def _lam_applies(res: Results, d: str) -> bool:
    return len(res.lam_final(d, ABLATION_FUSION, "model", "lipschitz", "lower")) >= 3


def _lam_values(submodule: str, metric: str, kind: str):
    def values(res: Results, d: str) -> dict:
        return res.lam_final(d, ABLATION_FUSION, submodule, metric, kind)

    return values


def _lam_interior(vals: dict, res: Results, d: str):
    lams = sorted(vals)
    means = {lam: float(np.mean(vals[lam])) for lam in lams}
    interior = min(means[lam] for lam in lams[1:-1])
    ends = min(means[lams[0]], means[lams[-1]])
    argmin = min(means, key=means.get)
    return interior < ends, interior, ends, {"means_by_lambda": {f"{k:g}": v for k, v in means.items()},
                                             "argmin_lambda": argmin}


def _lam_decreasing(vals: dict, res: Results, d: str):
    lams = sorted(vals)
    means = [float(np.mean(vals[lam])) for lam in lams]
    worst = max(b / a for a, b in zip(means[:-1], means[1:]))
    return worst <= 1.0, worst, 1.0, {"means_by_lambda": {f"{k:g}": v for k, v in zip(lams, means)},
                                      "largest_step_ratio": worst}


_LOW = "whole-model power-iteration lower bound (float64, deflated) at the final epoch"
_DATA = "per dataset: trial means (fixed cases) and each trial alone, the same seed for every fusion (sampled cases)"
_JACK = "per dataset: all trials (fixed cases) and leave-one-trial-out subsets (sampled cases)"

SPECS: dict[str, dict[str, _Spec]] = {
    "emp-lipschitz": {
        "lower-bound": _Spec(_bimodal_or_more, _final_values("model", "lipschitz", "lower"), _att_lowest(),
                             f"mean {_LOW}: attention < min(sum, concat); {_DATA}"),
        "paper-estimator": _Spec(_bimodal_or_more, _final_values("model", "lipschitz", "heuristic"), _att_lowest(),
                                 f"mean paper estimator (heuristic) of the whole model: attention < min(sum, concat); {_DATA}"),
        "ten-times": _Spec(_bimodal_or_more, _final_values("model", "lipschitz", "heuristic"), _att_lowest(10.0),
                           f"10 x mean paper estimator of attention < min(sum, concat); {_DATA}"),
    },
    "emp-convergence": {
        "fastest": _Spec(_bimodal_or_more, _curve_values, _fastest,
                         f"interpolated epoch at which the trial-mean training loss reaches the worst final level; {_DATA}"),
        "lowest-train-loss": _Spec(_bimodal_or_more, _final_values("model", "train_loss", "loss"), _att_lowest(),
                                   f"mean final training loss: attention < min(sum, concat); {_DATA}"),
        "lowest-test-loss": _Spec(_bimodal_or_more, _final_values("model", "test_loss", "loss"), _att_lowest(),
                                  f"mean final test loss: attention < min(sum, concat); {_DATA}"),
    },
    "emp-variance": {
        "test-loss": _Spec(*_variance("test_loss")[:3], method=f"sd over trials of the final test loss: concat < sum; {_JACK}",
                           mode="jackknife"),
        "train-loss": _Spec(*_variance("train_loss")[:3], method=f"sd over trials of the final training loss: concat < sum; "
                            f"{_JACK}", mode="jackknife"),
    },
    "emp-detection": {
        "youden": _Spec(_det_applies, _det_values, _det_youden,
                        f"mean over corruptions and trials of TPR - FPR (kPCA + Mahalanobis, 95th percentile): "
                        f"attention > max(sum, concat); {_DATA}"),
        "tpr-and-fpr": _Spec(_det_applies, _det_values, _det_both,
                             f"mean TPR higher and mean FPR lower for attention than for sum and concat; {_DATA}"),
    },
    "emp-trimodal": {
        "lowest-test-loss": _Spec(_trimodal, _final_values("model", "test_loss", "loss"), _att_lowest(),
                                  f"datasets with >= 3 modalities: mean final test loss attention < min(sum, concat); {_DATA}"),
        "lowest-lipschitz": _Spec(_trimodal, _final_values("model", "lipschitz", "lower"), _att_lowest(),
                                  f"datasets with >= 3 modalities: mean {_LOW}, attention < min(sum, concat); {_DATA}"),
    },
    "emp-lambda": {
        "interior-optimum": _Spec(_lam_applies, _lam_values("model", "lipschitz", "lower"), _lam_interior,
                                  f"{ABLATION_FUSION}: min over interior lambdas of the mean {_LOW} < its value at both "
                                  f"ends of the sweep; {_DATA}"),
        "param-norm-decreasing": _Spec(_lam_applies, _lam_values("model", "param_norm", "other"), _lam_decreasing,
                                       f"{ABLATION_FUSION}: largest ratio of consecutive mean parameter norms (increasing "
                                       f"lambda) <= 1; {_DATA}"),
    },
}

#: claim id -> reading -> :class:`~lipbound.claims.Evaluator`
EVALUATORS: dict[str, dict[str, Evaluator]] = {c: {r: make_evaluator(s) for r, s in rs.items()} for c, rs in SPECS.items()}
