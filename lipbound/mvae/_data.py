r"""The iCub multimodal data set (Zambelli, Cully, Demiris 2020), as used by the companion paper
"Analyzing Multimodal Integration in the Variational Autoencoder from an Information-Theoretic
Perspective" (arXiv 2411.00522).

A sample is a 28-vector in :math:`[-1, 1]^{28}` with five modalities, each holding its values at
time :math:`t` followed by the same values at time :math:`t-1`:

=========  =========  ======================
modality   columns    values
=========  =========  ======================
joints     0-7        4 joints at t, t-1
vision     8-15       4 values at t, t-1
touch      16-17      binary {-1, 1}
sound      18-19      a few discrete levels
motor      20-27      4 commands at t, t-1
=========  =========  ======================

A *muted* entry is set to :data:`MUTED` (-2, outside the data range). The training file holds 1845
clean samples in four variants (:data:`VARIANTS`), each as (possibly muted input, clean target).

The data is **not** shipped with lipbound. :func:`data_dir` looks for it in ``$LIPBOUND_ICUB_DIR``,
else in ``<repository>/../shared/data/icub-multimodal`` (found relative to this source file), and
otherwise raises :class:`DataNotFoundError` saying where to put the two ``.mat`` files.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import LipboundError

#: value of a muted entry (outside the data range [-1, 1])
MUTED = -2.0

#: column slices of the 28-vector, in column order
MODALITIES: dict[str, slice] = {
    "joints": slice(0, 8),
    "vision": slice(8, 16),
    "touch": slice(16, 18),
    "sound": slice(18, 20),
    "motor": slice(20, 28),
}
#: dimension of a sample
DIM = 28

TRAIN_FILE = "final_database_train.mat"
TEST_FILE = "final_database_test.mat"
#: environment variable naming the folder that holds the two ``.mat`` files
ENV_VAR = "LIPBOUND_ICUB_DIR"


def _time_t(name: str) -> np.ndarray:
    s = MODALITIES[name]
    half = (s.stop - s.start) // 2
    return np.arange(s.start, s.start + half)


def _cols(*names: str) -> np.ndarray:
    return np.concatenate([np.arange(MODALITIES[n].start, MODALITIES[n].stop) for n in names]) if names \
        else np.zeros(0, dtype=int)


def _variant_masks() -> dict[str, np.ndarray]:
    """Boolean masks (True = muted) of the four training variants, as found in the training file."""
    complete = np.zeros(DIM, dtype=bool)
    only_vision = np.ones(DIM, dtype=bool)
    only_vision[MODALITIES["vision"]] = False
    forward = np.zeros(DIM, dtype=bool)
    forward[np.concatenate([_time_t(n) for n in MODALITIES])] = True
    # joints(t) muted, joints(t-1) and vision kept, the rest muted
    joints_prev = np.ones(DIM, dtype=bool)
    joints_prev[_cols("vision")] = False
    joints_prev[MODALITIES["joints"].start + 4:MODALITIES["joints"].stop] = False
    return {"complete": complete, "only-vision": only_vision, "forward": forward, "joints-prev-vision": joints_prev}


#: the four muting variants of the training file: name -> boolean mask over the 28 columns (True = muted)
VARIANTS: dict[str, np.ndarray] = _variant_masks()


class DataNotFoundError(LipboundError, FileNotFoundError):
    """The iCub ``.mat`` files are not where lipbound looks for them."""


def _default_dirs() -> list[Path]:
    # <repo>/lipbound/mvae/_data.py -> <repo>/../shared/data/icub-multimodal
    repo = Path(__file__).resolve().parents[2]
    return [repo.parent / "shared" / "data" / "icub-multimodal"]


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The folder holding ``final_database_train.mat`` and ``final_database_test.mat``.

    Looks at ``path``, else ``$LIPBOUND_ICUB_DIR``, else ``<repository>/../shared/data/icub-multimodal``;
    raises :class:`DataNotFoundError` naming the places searched and how to fix it.
    """
    if path is not None:
        candidates, source = [Path(path).expanduser()], "the given path"
    elif os.environ.get(ENV_VAR):
        candidates, source = [Path(os.environ[ENV_VAR]).expanduser()], f"${ENV_VAR}"
    else:
        candidates, source = _default_dirs(), "the default location"
    for c in candidates:
        if (c / TRAIN_FILE).is_file() and (c / TEST_FILE).is_file():
            return c
    raise DataNotFoundError(
        f"the iCub data ({TRAIN_FILE}, {TEST_FILE}) is not in {', '.join(str(c) for c in candidates)} "
        f"({source}). lipbound does not ship it: get the two files from the repository "
        "ImperialCollegeLondon/Zambelli2019_RAS_multimodal_VAE (folder matlab/database), put them in a "
        f"folder and set {ENV_VAR}=<that folder>, or place them in ../shared/data/icub-multimodal next to "
        "the lipbound checkout"
    )


@dataclass(frozen=True)
class ICubData:
    """The loaded data set (float64 arrays).

    Attributes:
        train_input: (7380, 28) inputs, muted entries equal to :data:`MUTED`.
        train_target: (7380, 28) clean targets.
        train_variant: (7380,) the variant name of each training row (a key of :data:`VARIANTS`).
        test: (1487, 28) clean test samples.
        source: the folder the files were read from.
    """

    train_input: np.ndarray
    train_target: np.ndarray
    train_variant: np.ndarray
    test: np.ndarray
    source: Path


def _classify(x: np.ndarray) -> np.ndarray:
    muted = x == MUTED
    names = np.full(len(x), "", dtype=object)
    for name, mask in VARIANTS.items():
        names[(muted == mask).all(axis=1)] = name
    bad = np.flatnonzero(names == "")
    if bad.size:
        raise LipboundError(f"training row {int(bad[0])} has a muting pattern that is none of {list(VARIANTS)}")
    return names.astype(str)


def load_icub(path: str | os.PathLike | None = None) -> ICubData:
    """Read the two ``.mat`` files (``scipy.io.loadmat``) and check their layout.

    Raises :class:`DataNotFoundError` if they are missing and :class:`~lipbound.errors.LipboundError`
    if a file does not have the documented shape or values.
    """
    from scipy.io import loadmat

    folder = data_dir(path)
    try:
        train = np.asarray(loadmat(folder / TRAIN_FILE)["final_database_train"], dtype=np.float64)
        test = np.asarray(loadmat(folder / TEST_FILE)["final_database_test"], dtype=np.float64)
    except (KeyError, ValueError, OSError, TypeError, NotImplementedError) as exc:
        raise LipboundError(f"cannot read the iCub data in {folder}: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - scipy's MatReadError and friends derive from Exception only
        if type(exc).__module__.startswith("scipy."):
            raise LipboundError(f"cannot read the iCub data in {folder}: {type(exc).__name__}: {exc}") from exc
        raise
    if train.ndim != 2 or train.shape[1] != 2 * DIM or test.ndim != 2 or test.shape[1] != DIM:
        raise LipboundError(f"unexpected iCub shapes in {folder}: train {train.shape} (want (N, 56)), "
                            f"test {test.shape} (want (N, 28))")
    x, y = train[:, :DIM], train[:, DIM:]
    for name, arr in (("train targets", y), ("test", test)):
        if not np.isfinite(arr).all() or arr.min() < -1 - 1e-9 or arr.max() > 1 + 1e-9:
            raise LipboundError(f"iCub {name} in {folder} fall outside [-1, 1]")
    return ICubData(x, y, _classify(x), test, folder)


def modality_columns(name: str) -> np.ndarray:
    """Column indices of modality ``name``.

    >>> modality_columns("touch").tolist()
    [16, 17]
    """
    if name not in MODALITIES:
        raise LipboundError(f"unknown modality {name!r}; modalities: {', '.join(MODALITIES)}")
    s = MODALITIES[name]
    return np.arange(s.start, s.stop)


def mute(x: np.ndarray, modalities: Iterable[str]) -> np.ndarray:
    """A copy of ``x`` (shape (..., 28)) with every column of the named modalities set to :data:`MUTED`.

    >>> mute(np.zeros((1, 28)), ["touch", "sound"])[0, 15:21].tolist()
    [0.0, -2.0, -2.0, -2.0, -2.0, 0.0]
    """
    out = np.array(x, dtype=np.float64, copy=True)
    for name in modalities:
        out[..., modality_columns(name)] = MUTED
    return out


def only(x: np.ndarray, modality: str) -> np.ndarray:
    """``x`` with every modality except ``modality`` muted (the input of the single modality error)."""
    return mute(x, [m for m in MODALITIES if m != modality])
