r"""KL weight (β) schedules of arXiv 2411.00522, as lipbound defines them exactly.

The paper trains with four schedules named constant 1, constant 0, "dynamic decrease, plateau 0"
and "dynamic decrease, plateau 1". The dynamic weight of the original code (Zambelli et al. 2020,
``train_final_completeloss.py``) is :math:`\beta(e) = 1 - \min(e / 1000, 1)`: a linear fall from 1
to 0 over the first **1000 of 80,000 epochs**, then 0. lipbound takes that fall and its length
:math:`T` (:data:`PAPER_FALL_EPOCHS`; a run of :math:`E` epochs falls over
:math:`T = \max(1, \operatorname{round}(E / 80))` epochs unless told otherwise, the original's
proportion) and defines (epochs :math:`e = 0, 1, \dots`):

.. math::

    \beta_{\text{const-1}}(e) = 1, \qquad \beta_{\text{const-0}}(e) = 0,

    \beta_{\text{dyn-0}}(e) = \begin{cases} 1 - e/T & e < T \\ 0 & e \ge T \end{cases}, \qquad
    \beta_{\text{dyn-1}}(e) = \begin{cases} 1 - e/T & e < T \\ 1 & e \ge T \end{cases}.

``dyn-0`` is the original's schedule. ``dyn-1`` is lipbound's reading of "decrease, then plateau
at 1" (the same fall, then the weight fixed at 1): the material available here does not define it
(docs/mvae.md, "Schedules", states the gap).

>>> [round(beta("dyn-0", e, 4), 2) for e in range(6)]
[1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
>>> [round(beta("dyn-1", e, 4), 2) for e in range(6)]
[1.0, 0.75, 0.5, 0.25, 1.0, 1.0]
"""

from __future__ import annotations

from ..errors import LipboundError

#: the schedules, in the paper's order
SCHEDULES: tuple[str, ...] = ("const-1", "const-0", "dyn-0", "dyn-1")
#: the original's fall length (epochs) and run length: beta = 1 - min(epoch / 1000, 1) over 80,000 epochs
PAPER_FALL_EPOCHS = 1000
PAPER_EPOCHS = 80_000


def check_schedule(name: str) -> str:
    """``name`` if it is a schedule, else a :class:`~lipbound.errors.LipboundError` listing them."""
    if name not in SCHEDULES:
        raise LipboundError(f"unknown KL schedule {name!r}; choose from {', '.join(SCHEDULES)}")
    return name


def fall_epochs(epochs: int) -> int:
    r"""The default fall length of a run of ``epochs`` epochs: the original's proportion
    (1000 of 80,000), :math:`T = \max(1, \operatorname{round}(E / 80))`.

    >>> fall_epochs(80_000), fall_epochs(400), fall_epochs(10)
    (1000, 5, 1)
    """
    return max(1, round(epochs * PAPER_FALL_EPOCHS / PAPER_EPOCHS))


def beta(schedule: str, epoch: int, fall: int) -> float:
    """The KL weight of ``schedule`` at ``epoch`` (0-based) when the dynamic fall lasts ``fall`` epochs."""
    check_schedule(schedule)
    if fall < 1 or epoch < 0:
        raise LipboundError(f"need epoch >= 0 and a fall of at least one epoch, got epoch={epoch}, fall={fall}")
    if schedule == "const-1":
        return 1.0
    if schedule == "const-0":
        return 0.0
    if epoch < fall:
        return 1.0 - epoch / fall
    return 0.0 if schedule == "dyn-0" else 1.0
