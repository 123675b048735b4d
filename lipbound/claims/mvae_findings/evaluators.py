r"""Numeric evaluators of ``mvae-findings``: the companion paper's findings on lipbound's MVAE study.

The study (:mod:`._study`; by default the committed CPU study: the original model, 4 schedules x 20
seeds) is fixed data, so every case is a **fixed case**: one per schedule for the readings made
schedule by schedule, one per comparison otherwise. Seed :math:`k` of every schedule starts from
the same weights and sees the same minibatches, so comparisons are **paired by seed**
(:mod:`lipbound.claims.empirical._stats`): positive quantities by the mean per-seed log ratio and
its 95% t interval, others by the per-seed difference. A comparison is ``supported`` when its
interval lies entirely on the side the paper states, ``opposite`` when entirely on the other side,
else ``inconclusive``; a case combines its comparisons (``opposite`` if any is, ``supported`` if all
are). The readings are tendencies: an ``opposite`` case makes the reading ``not-supported``, never
``refuted``, and an inconclusive one ``not-proven``. Every case's label states the effect sizes, the
number of seeds and how many runs met the convergence criterion.
"""

from __future__ import annotations


import numpy as np

from ...mvae import MODALITIES, SCHEDULES
from ..empirical._evaluators import combine
from ..empirical._stats import describe, paired_difference, paired_log_ratio, verdict
from .._ledger import Evaluator, Outcome
from ..mvae._study import Study, load_study

DIMS = {m: s.stop - s.start for m, s in MODALITIES.items()}
PLATEAU = {"dyn-0": ("const-0", "const-1"), "dyn-1": ("const-1", "const-0")}


def study(case: dict | None = None) -> Study:
    """The study a case names: ``case["study"]``, a study file or a ``lipbound mvae train`` folder
    (evaluated on the iCub data in ``case["icub"]`` when given), or ``committed`` (the default), the
    committed CPU study."""
    case = case or {}
    path = case.get("study", "committed")
    return load_study(None if path == "committed" else path, case.get("icub"))


def _conv(st: Study, schedules) -> str:
    runs = [r for s in schedules for r in st.runs(s)]
    n = sum(1 for r in runs if r["convergence"].get("converged"))
    return (f"{st.setting['epochs']} epochs; {n}/{len(runs)} runs converged (test MSE within 5% over the last tenth, "
            "active units stable)")


def _compare(name: str, a: np.ndarray, b: np.ndarray, claimed: str) -> dict:
    if a.size and np.all(a > 0) and np.all(b > 0) and np.all(np.isfinite(a)) and np.all(np.isfinite(b)):
        iv = paired_log_ratio(a, b)
    else:
        iv = paired_difference(a, b)
    return {"name": name, "verdict": verdict(iv, claimed), "claimed": claimed, "interval": iv,
            "a_mean": float(np.mean(a)), "b_mean": float(np.mean(b)), "text": f"{name}: {describe(iv)}"}


def _outcome(case: dict, comps: list[dict], st: Study, schedules) -> Outcome:
    v = combine([c["verdict"] for c in comps])
    # the comparison reported: an opposite one first, else an inconclusive one, else the closest
    pick = next((c for c in comps if c["verdict"] == "opposite"), None) or \
        next((c for c in comps if c["verdict"] == "inconclusive"), None) or comps[0]
    where = case.get("schedule", "all")
    label = f"{where}: {v}; {pick['text']}; {len(st.seeds())} seeds, {_conv(st, schedules)}; {st.label}"
    info = {"verdict": v, "source": st.label, "comparisons": [
        {k: c[k] for k in ("name", "verdict", "claimed", "a_mean", "b_mean")} | {"effect": describe(c["interval"])}
        for c in comps], "setting": st.setting}
    return Outcome(v == "supported", pick["a_mean"], pick["b_mean"], {**case, **info}, label, decided=v != "inconclusive")


def _measure(st: Study, s: str, measure: str, m: str) -> np.ndarray:
    return st.per_seed(s, lambda r: r["measures"][measure][m])


def _nmse(st: Study, s: str, m: str) -> np.ndarray:
    var = st.data["test_variance"][m]
    return st.per_seed(s, lambda r: r["diagnostics"][f"mse:{m}"] / var)


def _mse(st: Study, s: str) -> np.ndarray:
    return st.per_seed(s, lambda r: r["diagnostics"]["mse"])


# ----------------------------------------------------------------------------- per schedule
def _vision_single(case):
    st, s = study(case), case["schedule"]
    v = _measure(st, s, "single-all", "vision")
    comps = [_compare(f"Delta_all(vision) / Delta_all({m})", v, _measure(st, s, "single-all", m), "below")
             for m in MODALITIES if m != "vision"]
    return _outcome(case, comps, st, [s])


def _vision_precision(case):
    st, s = study(case), case["schedule"]
    v = _measure(st, s, "precision-all", "vision")
    comps = [_compare(f"delta_all(vision) / delta_all({m})", v, _measure(st, s, "precision-all", m), "above")
             for m in MODALITIES if m != "vision"]
    return _outcome(case, comps, st, [s])


def _touch_sound(case):
    st, s = study(case), case["schedule"]
    comps = [_compare(f"nMSE({h}) / nMSE({e})", _nmse(st, s, h), _nmse(st, s, e), "above")
             for h in ("touch", "sound") for e in ("joints", "vision", "motor")]
    return _outcome(case, comps, st, [s])


def _share(st: Study, s: str, m: str) -> np.ndarray:
    part, whole = _measure(st, s, "precision-M", m), _measure(st, s, "precision-all", m)
    return np.where(whole > 0, part / np.where(whole > 0, whole, 1.0), np.nan)


def _touch_sound_diagnostic(case):
    st, s = study(case), case["schedule"]
    comps = []
    for h in ("touch", "sound"):
        for e in ("joints", "vision", "motor"):
            a, b = _share(st, s, h), _share(st, s, e)
            ok = np.isfinite(a) & np.isfinite(b)
            comps.append(_compare(f"delta_M/delta_all share {h} - {e}", a[ok], b[ok], "above"))
    return _outcome(case, comps, st, [s])


def _per_dim(case):
    st, s = study(case), case["schedule"]
    comps = []
    for kind, sym in (("single", "Delta"), ("precision", "delta")):
        for m in MODALITIES:
            whole = _measure(st, s, f"{kind}-all", m) / 28
            part = _measure(st, s, f"{kind}-M", m) / DIMS[m]
            comps.append(_compare(f"{sym}_all({m})/28 vs {sym}_M({m})/{DIMS[m]}", whole, part, "above"))
    return _outcome(case, comps, st, [s])


# ----------------------------------------------------------------------------- across schedules
def _collapse(case):
    st = study(case)
    active = st.per_seed("const-1", lambda r: r["diagnostics"]["active_units"])
    latent = 28
    iv = paired_difference(active, np.full_like(active, latent / 2))
    comp = {"name": "active units (const-1) - 14", "verdict": verdict(iv, "below"), "claimed": "below", "interval": iv,
            "a_mean": float(active.mean()), "b_mean": latent / 2,
            "text": f"const-1 active units {active.mean():.3g} (min {active.min():.0f}, max {active.max():.0f}) vs 14: {describe(iv)}"}
    return _outcome(case, [comp], st, ["const-1"])


def _const0_vs_const1(case):
    st = study(case)
    return _outcome(case, [_compare("MSE const-0 / const-1", _mse(st, "const-0"), _mse(st, "const-1"), "below")],
                    st, ["const-0", "const-1"])


def _const0_best(case):
    st = study(case)
    comps = [_compare(f"MSE const-0 / {s}", _mse(st, "const-0"), _mse(st, s), "below") for s in SCHEDULES
             if s != "const-0"]
    return _outcome(case, comps, st, SCHEDULES)


def _intermediate(case):
    st, d = study(case), case["schedule"]
    comps = [_compare(f"MSE {d} / const-0", _mse(st, d), _mse(st, "const-0"), "above"),
             _compare(f"MSE {d} / const-1", _mse(st, d), _mse(st, "const-1"), "below")]
    return _outcome(case, comps, st, [d, "const-0", "const-1"])


def _like_counterpart(case):
    st, d = study(case), case["schedule"]
    same, other = PLATEAU[d]
    x = np.log(_mse(st, d))
    near, far = np.abs(x - np.log(_mse(st, same))), np.abs(x - np.log(_mse(st, other)))
    iv = paired_difference(near, far)
    comp = {"name": f"|log MSE {d} - log MSE {same}| - |log MSE {d} - log MSE {other}|", "verdict": verdict(iv, "below"),
            "claimed": "below", "interval": iv, "a_mean": float(near.mean()), "b_mean": float(far.mean()),
            "text": f"log-MSE distance to {same} {near.mean():.3g} vs to {other} {far.mean():.3g}: {describe(iv)}"}
    return _outcome(case, [comp], st, [d, same, other])


def _source(fixtures) -> dict:
    """What a fixed case is decided on: the fixtures' study (``committed`` unless chosen), and the
    iCub folder when one was located (needed only to evaluate a training folder's runs)."""
    icub = fixtures.data_folder("icub")
    return {"study": fixtures.mvae_study or "committed", **({} if icub is None else {"icub": str(icub)})}


def _per_schedule(fixtures):
    return [{"schedule": s, **_source(fixtures)} for s in SCHEDULES]


def _dynamic(fixtures):
    return [{"schedule": s, **_source(fixtures)} for s in ("dyn-0", "dyn-1")]


def _one(fixtures):
    return [_source(fixtures)]


_M = "the study's runs (default: the committed CPU study, lipbound.claims.mvae._study), paired by seed, 95% intervals"
EVALUATORS: dict[str, Evaluator] = {
    "vision-most-informative": Evaluator(None, _vision_single, f"Delta_all(vision) vs every other modality per schedule; {_M}",
                                         fixed_cases=_per_schedule),
    "vision-largest-precision-loss": Evaluator(None, _vision_precision, f"delta_all(vision) vs every other modality per "
                                               f"schedule; {_M}", fixed_cases=_per_schedule),
    "touch-sound-hard": Evaluator(None, _touch_sound, "test MSE (full input) divided by the modality's variance on the "
                                  f"test set, touch and sound vs joints, vision, motor per schedule; {_M}",
                                  fixed_cases=_per_schedule),
    "touch-sound-hard-diagnostic": Evaluator(None, _touch_sound_diagnostic, "share delta_M(M) / delta_all(M), touch and "
                                             f"sound vs joints, vision, motor per schedule; {_M}", fixed_cases=_per_schedule),
    "per-dim-average-on-runs": Evaluator(None, _per_dim, "whole-vector measures per dimension (/28) vs the modality's "
                                         f"measures per dimension (/|I_M|), every modality, per schedule; {_M}",
                                         fixed_cases=_per_schedule),
    "const1-collapse": Evaluator(None, _collapse, f"active latent units of the const-1 runs vs half the latent; {_M}",
                                 fixed_cases=_one),
    "const0-beats-const1": Evaluator(None, _const0_vs_const1, f"test MSE (full input) const-0 vs const-1; {_M}",
                                     fixed_cases=_one),
    "const0-best-reconstruction": Evaluator(None, _const0_best, f"test MSE (full input) const-0 vs every other schedule; {_M}",
                                            fixed_cases=_one),
    "dynamic-intermediate": Evaluator(None, _intermediate, f"test MSE of each dynamic schedule vs const-0 (above) and "
                                      f"const-1 (below); {_M}", fixed_cases=_dynamic),
    "dynamic-like-counterpart": Evaluator(None, _like_counterpart, "distance in log test MSE of each dynamic schedule to "
                                          f"the constant schedule at its plateau vs to the other; {_M}", fixed_cases=_dynamic),
}


def study_summary(path: str | None = None) -> str:
    """One line on the study the findings are decided on (``path``; the committed one by default)."""
    return study({} if path is None else {"study": path}).describe()


__all__ = ["EVALUATORS", "study", "study_summary"]
