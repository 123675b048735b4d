"""Evaluators of the companion paper's claims (arXiv 2411.00522): ``mvae-kl-whole-vs-part`` in
:mod:`~lipbound.claims.mvae._kl` (sampled Gaussians, plus the ledger's small trained runs of
:mod:`~lipbound.claims.mvae._runs` when the iCub data (:data:`ICUB`) is present), and ``mvae-findings``
in :mod:`~lipbound.claims.mvae._findings`, decided on the committed study of
:mod:`~lipbound.claims.mvae._study` (no data needed)."""

from ._findings import ENV_STUDY, study, study_summary
from ._findings import EVALUATORS as FINDINGS_EVALUATORS
from ._kl import EVALUATORS as KL_EVALUATORS
from ._runs import ICUB, LEDGER_PRESET, icub_folder, ledger_runs, locate_icub, use_icub
from ._study import COMMITTED, Study, compact_study, load_study

__all__ = ["COMMITTED", "ENV_STUDY", "FINDINGS_EVALUATORS", "ICUB", "KL_EVALUATORS", "LEDGER_PRESET", "Study",
           "compact_study", "icub_folder", "ledger_runs", "load_study", "locate_icub", "study", "study_summary",
           "use_icub"]
