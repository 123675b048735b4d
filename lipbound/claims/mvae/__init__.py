"""Evaluators of the companion paper's claims (arXiv 2411.00522): ``mvae-kl-whole-vs-part`` in
:mod:`~lipbound.claims.mvae._kl`, ``mvae-findings`` in :mod:`~lipbound.claims.mvae._findings`, both on
the runs of :mod:`~lipbound.claims.mvae._runs`, which need the iCub data (:data:`ICUB`)."""

from ._findings import EVALUATORS as FINDINGS_EVALUATORS
from ._kl import EVALUATORS as KL_EVALUATORS
from ._runs import ENV_RESULTS, ICUB, LEDGER_PRESET, icub_folder, ledger_runs, locate_icub, results_dir, use_icub

__all__ = ["ENV_RESULTS", "FINDINGS_EVALUATORS", "ICUB", "KL_EVALUATORS", "LEDGER_PRESET", "icub_folder", "ledger_runs",
           "locate_icub", "results_dir", "use_icub"]
