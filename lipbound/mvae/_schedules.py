r"""KL weight (β) schedules of arXiv 2411.00522, as lipbound defines them exactly.

The paper trains with four schedules: constant 1, constant 0, and two dynamic ones that decrease and
then plateau at 0 or at 1. The summary available here does not give the dynamic formulas; lipbound
uses the following (epochs :math:`e = 0, \dots, E-1`, decay length
:math:`T = \max(1, \lceil f E \rceil)` with the decay fraction :math:`f` = :data:`DECAY_FRACTION`):

.. math::

    \beta_{\text{const-1}}(e) = 1, \qquad \beta_{\text{const-0}}(e) = 0,

    \beta_{\text{dyn-0}}(e) = \begin{cases} 1 - e/T & e < T \\ 0 & e \ge T \end{cases}, \qquad
    \beta_{\text{dyn-1}}(e) = \begin{cases} 1 - e/T & e < T \\ 1 & e \ge T \end{cases}.

Both dynamic schedules decrease linearly from 1 towards 0 during the first :math:`T` epochs; then the
weight is *fixed* at its plateau, 0 or 1 (for ``dyn-1`` this is a jump back to 1, our reading of
"decrease, then plateau at 1": the paper reports that after the weight is fixed the dynamic runs
behave like their constant counterparts).

>>> [round(beta("dyn-0", e, 4), 2) for e in range(4)]
[1.0, 0.5, 0.0, 0.0]
>>> [round(beta("dyn-1", e, 4), 2) for e in range(4)]
[1.0, 0.5, 1.0, 1.0]
"""

from __future__ import annotations

import math

from ..errors import LipboundError

#: the schedules, in the paper's order
SCHEDULES: tuple[str, ...] = ("const-1", "const-0", "dyn-0", "dyn-1")
#: fraction of the epochs spent decreasing in the dynamic schedules
DECAY_FRACTION = 0.5


def check_schedule(name: str) -> str:
    """``name`` if it is a schedule, else a :class:`~lipbound.errors.LipboundError` listing them."""
    if name not in SCHEDULES:
        raise LipboundError(f"unknown KL schedule {name!r}; choose from {', '.join(SCHEDULES)}")
    return name


def decay_epochs(epochs: int, fraction: float = DECAY_FRACTION) -> int:
    r""":math:`T = \max(1, \lceil f E \rceil)`."""
    return max(1, math.ceil(fraction * epochs))


def beta(schedule: str, epoch: int, epochs: int, fraction: float = DECAY_FRACTION) -> float:
    """The KL weight of ``schedule`` at ``epoch`` (0-based) of a run of ``epochs`` epochs."""
    check_schedule(schedule)
    if epochs < 1 or not 0 <= epoch < epochs:
        raise LipboundError(f"epoch must lie in [0, {epochs}) with epochs >= 1, got epoch={epoch}, epochs={epochs}")
    if schedule == "const-1":
        return 1.0
    if schedule == "const-0":
        return 0.0
    t = decay_epochs(epochs, fraction)
    if epoch < t:
        return 1.0 - epoch / t
    return 0.0 if schedule == "dyn-0" else 1.0
