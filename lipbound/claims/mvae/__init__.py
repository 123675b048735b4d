"""What the companion paper's claims (arXiv 2411.00522) are decided on: the ledger's small trained runs on
the iCub data (:mod:`~lipbound.claims.mvae._runs`, when the data (:data:`ICUB`) is present) and the
committed study of the original model (:mod:`~lipbound.claims.mvae._study`, no data needed). The claims
themselves are in ``lipbound/claims/mvae_kl_whole_vs_part/`` and ``lipbound/claims/mvae_findings/``."""

from ._runs import ICUB, LEDGER_PRESET, ledger_runs, locate_icub
from ._study import COMMITTED, Study, compact_study, load_study

__all__ = ["COMMITTED", "ICUB", "LEDGER_PRESET", "Study", "compact_study", "ledger_runs", "load_study", "locate_icub"]
