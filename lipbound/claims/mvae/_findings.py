r"""Numeric evaluators of ``mvae-findings``: the paper's empirical findings on lipbound's runs.

A case is ``{"bootstrap": None}`` (the whole test set, a fixed case) or ``{"bootstrap": seed}``: a
resample with replacement of the test samples drawn from that seed, the trained models unchanged.
Each reading is decided schedule by schedule on the mean over the training seeds; the outcome
reports the worst schedule (largest ratio), and its label gives mean +- standard deviation over
the seeds of the quantities compared.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...mvae import MODALITIES
from .._ledger import Evaluator, Outcome
from ._runs import by_schedule, ledger_runs


def sample_case(rng: np.random.Generator, index: int) -> dict[str, Any]:
    return {"bootstrap": int(rng.integers(2**31))}


def fixed_cases() -> list[dict[str, Any]]:
    ledger_runs()  # train (or load) now, so that failures surface as the fixed case
    return [{"bootstrap": None}]


def _index(case) -> np.ndarray | None:
    if case.get("bootstrap") is None:
        return None
    n = len(ledger_runs()[0].sq_err)
    return np.random.default_rng(case["bootstrap"]).integers(0, n, size=n)


def _ms(values) -> str:
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.4g} +- {v.std(ddof=1) if len(v) > 1 else 0.0:.2g}"


def _measure(runs, measure, modality, idx) -> list[float]:
    return [float(np.mean(r.measures[measure][modality] if idx is None else r.measures[measure][modality][idx]))
            for r in runs]


def _worst(outcomes: list[tuple[float, float, bool, str]], case) -> Outcome:
    """outcomes: (measured, bound, ok, label) per schedule; report a failing one first, else the largest ratio."""
    def ratio(o):
        return o[0] / o[1] if o[1] else np.inf
    fails = [o for o in outcomes if not o[2]]
    m, b, ok, label = max(fails or outcomes, key=ratio)
    return Outcome(not fails, m, b, None if not fails else {**case, "detail": label}, label=label)


def _vision_single(case):
    idx, res = _index(case), []
    for s, runs in by_schedule(ledger_runs()).items():
        vals = {m: _measure(runs, "single-all", m, idx) for m in MODALITIES}
        v = float(np.mean(vals["vision"]))
        other = min((float(np.mean(x)), m) for m, x in vals.items() if m != "vision")
        res.append((v, other[0], v < other[0],
                    f"{s}: Delta_all(vision) {_ms(vals['vision'])} vs smallest other ({other[1]}) {_ms(vals[other[1]])}"))
    return _worst(res, case)


def _vision_precision(case):
    idx, res = _index(case), []
    for s, runs in by_schedule(ledger_runs()).items():
        vals = {m: _measure(runs, "precision-all", m, idx) for m in MODALITIES}
        v = float(np.mean(vals["vision"]))
        other = max((float(np.mean(x)), m) for m, x in vals.items() if m != "vision")
        res.append((other[0], v, v > other[0],
                    f"{s}: delta_all(vision) {_ms(vals['vision'])} vs largest other ({other[1]}) {_ms(vals[other[1]])}"))
    return _worst(res, case)


def _touch_sound(case):
    idx, res = _index(case), []
    for s, runs in by_schedule(ledger_runs()).items():
        mse = {m: [r.mse(m, idx) for r in runs] for m in MODALITIES}
        hard = min((float(np.mean(mse[m])), m) for m in ("touch", "sound"))
        easy = max((float(np.mean(mse[m])), m) for m in ("joints", "vision", "motor"))
        res.append((easy[0], hard[0], easy[0] < hard[0],
                    f"{s}: MSE {hard[1]} {_ms(mse[hard[1]])} vs {easy[1]} {_ms(mse[easy[1]])}"))
    return _worst(res, case)


def _collapse(case):
    idx = _index(case)
    res = []
    for r in by_schedule(ledger_runs())["const-1"]:
        latent = r.z_mean.shape[1]
        a = r.active_units(idx)
        res.append((float(a), latent / 2, a <= latent / 2, f"const-1 seed {r.seed}: {a} of {latent} latent units active"))
    return _worst(res, case)


def _const0_best(case):
    idx = _index(case)
    mse = {s: [r.mse(None, idx) for r in runs] for s, runs in by_schedule(ledger_runs()).items()}
    c0 = float(np.mean(mse["const-0"]))
    other = min((float(np.mean(v)), s) for s, v in mse.items() if s != "const-0")
    label = f"test MSE const-0 {_ms(mse['const-0'])} vs best other ({other[1]}) {_ms(mse[other[1]])}"
    ok = c0 < other[0]
    return Outcome(ok, c0, other[0], None if ok else {**case, "detail": label}, label=label)


def _const0_vs_const1(case):
    idx = _index(case)
    groups = by_schedule(ledger_runs())
    c0 = [r.mse(None, idx) for r in groups["const-0"]]
    c1 = [r.mse(None, idx) for r in groups["const-1"]]
    label = f"test MSE const-0 {_ms(c0)} vs const-1 {_ms(c1)}"
    ok = float(np.mean(c0)) < float(np.mean(c1))
    return Outcome(ok, float(np.mean(c0)), float(np.mean(c1)), None if ok else {**case, "detail": label}, label=label)


_B = "bootstrap resamples of the test set (fixed: the whole test set) on the trained runs; seed means per schedule"
EVALUATORS = {
    "vision-most-informative": Evaluator(sample_case, _vision_single, f"Delta_all per modality; {_B}; "
                                         "ratio = Delta_all(vision) / smallest other", fixed_cases=fixed_cases),
    "vision-largest-precision-loss": Evaluator(sample_case, _vision_precision, f"delta_all per modality; {_B}; "
                                               "ratio = largest other / delta_all(vision)", fixed_cases=fixed_cases),
    "touch-sound-hard": Evaluator(sample_case, _touch_sound, f"per-dimension MSE per modality, full input; {_B}; "
                                  "ratio = largest of joints/vision/motor / smaller of touch/sound", fixed_cases=fixed_cases),
    "const1-collapse": Evaluator(sample_case, _collapse, f"active units (Var mu_z > 0.01) per const-1 run; {_B}; "
                                 "ratio = active / (latent / 2)", fixed_cases=fixed_cases),
    "const0-beats-const1": Evaluator(sample_case, _const0_vs_const1, f"test MSE, full input; {_B}; "
                                     "ratio = const-0 / const-1", fixed_cases=fixed_cases),
    "const0-best-reconstruction": Evaluator(sample_case, _const0_best, f"test MSE, full input; {_B}; "
                                            "ratio = const-0 / best other schedule", fixed_cases=fixed_cases),
}
