r"""The model zoo: small multimodal autoencoders, trained on first use and cached on disk.

Each entry is a :class:`ZooSpec`: the architecture, the synthetic task
(:func:`~lipbound.zoo.make_multimodal_data`, :func:`~lipbound.zoo.make_image_modality`) and the
training run. :func:`load` returns the trained model, training it on first use and caching its
weights under

```text
<cache dir>/zoo/<name>-<key>.pt      the state dict (float32, torch.save)
<cache dir>/zoo/<name>-<key>.json    spec, losses, seconds, versions, sha256 of the .pt file
```

where ``<cache dir>`` is the ``cache_dir`` argument, else the ``LIPBOUND_CACHE`` environment
variable, else ``~/.cache/lipbound``, and ``<key>`` is a hash of the spec, the lipbound version and
the trainer's format version (:func:`spec_key`), so a changed spec never reuses old weights. Both
files are written atomically (temporary file in the same folder, then :func:`os.replace`). A cache
entry whose weights do not match the recorded sha256, cannot be read, or does not fit the spec is
reported with a :class:`ZooCacheWarning` and retrained; it is never used.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import torch

from .._io import atomic_write_bytes, atomic_write_json, check_folder_path
from .._version import __version__
from ..errors import LipboundError, ShapeMismatchError
from ..models import (
    FUSIONS,
    PAPER_LATENT_DIM,
    PAPER_SENSOR_HIDDEN,
    ConvDecoder,
    ConvEncoder,
    MLPDecoder,
    MLPEncoder,
    MultimodalAutoencoder,
    make_fusion,
)
from ..models._mlp import _ACTIVATIONS
from ._data import make_image_modality, make_multimodal_data
from ._train import TrainResult, train

__all__ = [
    "ZOO",
    "ZOO_GPU",
    "DeviceUnavailableError",
    "ZooCacheWarning",
    "ZooSpec",
    "build",
    "cache_path",
    "default_cache_dir",
    "get_spec",
    "load",
    "load_all",
    "spec_data",
    "spec_key",
    "state_dict_sha256",
]

#: Bump when the training procedure or the file layout changes: old cache entries are then ignored.
TRAINER_FORMAT = 1

KINDS = ("mlp", "conv")


class ZooCacheWarning(UserWarning):
    """A cache entry was unusable (corrupt, unreadable, or for another spec) and is being retrained."""


class DeviceUnavailableError(LipboundError, RuntimeError):
    """A zoo model must be trained on a device (e.g. CUDA) that this machine does not have."""


def _ints(values: Any, name: str) -> tuple[int, ...]:
    if isinstance(values, (int, bool)):
        values = (values,)
    out = tuple(values)
    if any(isinstance(v, bool) or int(v) != v or v < 1 for v in out):
        raise ValueError(f"ZooSpec.{name} must hold positive integers, got {out}")
    return tuple(int(v) for v in out)


@dataclass(frozen=True)
class ZooSpec:
    r"""Everything that defines one trained zoo model: architecture, data and training run.

    The modalities are, in order: for ``kind="conv"`` first an image of shape
    ``(1, image_size, image_size)`` (:func:`~lipbound.zoo.make_image_modality`), then one vector
    modality per entry of ``modality_dims`` (:func:`~lipbound.zoo.make_multimodal_data`). All of
    them are views of the same latent factors.

    Args:
        name: the zoo name (also the start of the cache file names).
        fusion: a registered fusion name (``"sum"``, ``"concat"``, ``"attention"``).
        modality_dims: widths of the vector modalities.
        latent_dims: encoder output widths, one per modality (an int is used for every modality).
        hidden: hidden widths of the MLP encoders; the decoders use them reversed.
        activation: activation of every hidden layer (see :func:`lipbound.models.activation`).
        epochs: training epochs.
        n_samples: training samples.
        seed: seeds the weight initialisation, the data (task and samples) and the shuffling.
        kind: ``"mlp"`` (all modalities are vectors) or ``"conv"`` (an image modality first,
            encoded by a :class:`~lipbound.models.ConvEncoder` and decoded by its
            :meth:`~lipbound.models.ConvDecoder.mirror`).
        image_size: side of the images (``kind="conv"`` only).
        channels: convolution channels of the image encoder (``kind="conv"`` only).
        n_factors: number of shared latent factors of the data.
        noise: noise level of the data.
        batch_size: training minibatch size.
        lr: Adam learning rate.
        device: where :func:`load` trains the model (``"cpu"`` or ``"cuda"``).

    >>> spec = ZooSpec("tiny", "concat", modality_dims=(3, 5), latent_dims=2, hidden=(8,))
    >>> spec.latent_dims, spec.num_modalities
    ((2, 2), 2)
    >>> ZooSpec("bad", "sum", modality_dims=(3, 5), latent_dims=(2, 3))
    Traceback (most recent call last):
    ...
    lipbound.errors.ShapeMismatchError: ZooSpec 'bad': sum fusion needs equal latent widths, got (2, 3)
    """

    name: str
    fusion: str
    modality_dims: tuple[int, ...] = (6, 10)
    latent_dims: int | tuple[int, ...] = 4
    hidden: tuple[int, ...] = (16,)
    activation: str = "tanh"
    epochs: int = 40
    n_samples: int = 1024
    seed: int = 0
    kind: str = "mlp"
    image_size: int = 16
    channels: tuple[int, ...] = (4, 8)
    n_factors: int = 3
    noise: float = 0.05
    batch_size: int = 64
    lr: float = 3e-3
    device: str = "cpu"

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 - frozen dataclass
        if not isinstance(self.name, str) or not self.name or any(c in self.name for c in "/\\\0"):
            raise ValueError(f"ZooSpec.name must be a non-empty string usable in a file name, got {self.name!r}")
        if self.fusion not in FUSIONS:
            raise ValueError(
                f"ZooSpec {self.name!r}: unknown fusion {self.fusion!r}; registered fusions: {', '.join(sorted(FUSIONS))}"
            )
        if self.kind not in KINDS:
            raise ValueError(f"ZooSpec {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(
                f"ZooSpec {self.name!r}: unknown activation {self.activation!r}; choose one of {sorted(_ACTIVATIONS)}"
            )
        set_("modality_dims", _ints(self.modality_dims, "modality_dims"))
        set_("hidden", tuple(_ints(self.hidden, "hidden")) if self.hidden else ())
        set_("channels", _ints(self.channels, "channels"))
        m = len(self.modality_dims) + (self.kind == "conv")
        if m < 1:
            raise ShapeMismatchError(f"ZooSpec {self.name!r}: needs at least one modality")
        lat = self.latent_dims
        set_("latent_dims", _ints((lat,) * m if isinstance(lat, int) else lat, "latent_dims"))
        if len(self.latent_dims) != m:
            raise ShapeMismatchError(
                f"ZooSpec {self.name!r}: {len(self.latent_dims)} latent widths for {m} modalities"
            )
        if self.fusion == "sum" and len(set(self.latent_dims)) > 1:
            raise ShapeMismatchError(
                f"ZooSpec {self.name!r}: sum fusion needs equal latent widths, got {self.latent_dims}"
            )
        for key in ("epochs", "n_samples", "batch_size", "image_size", "n_factors"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"ZooSpec {self.name!r}: {key} must be a positive integer, got {v!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"ZooSpec {self.name!r}: seed must be a non-negative integer, got {self.seed!r}")
        if not (self.lr > 0 and self.noise >= 0):
            raise ValueError(f"ZooSpec {self.name!r}: lr must be positive and noise non-negative")
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"ZooSpec {self.name!r}: device must be 'cpu' or 'cuda', got {self.device!r}")

    @property
    def num_modalities(self) -> int:
        """M, the number of modalities (the image counts as one for ``kind="conv"``)."""
        return len(self.latent_dims)

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain JSON types (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ZooSpec:
        """Inverse of :meth:`to_dict`; unknown keys are an error.

        >>> s = ZOO["sum-tanh"]
        >>> ZooSpec.from_dict(s.to_dict()) == s
        True
        """
        known = {f.name for f in fields(cls)}
        extra = set(d) - known
        if extra:
            raise ValueError(f"ZooSpec.from_dict: unknown keys {sorted(extra)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def _entries(*specs: ZooSpec) -> dict[str, ZooSpec]:
    return {s.name: s for s in specs}


#: The default zoo: small models that train in a few seconds each on a CPU.
ZOO: dict[str, ZooSpec] = _entries(
    ZooSpec("sum-tanh", "sum", modality_dims=(6, 10), latent_dims=4, hidden=(16,), activation="tanh", seed=1),
    ZooSpec("concat-relu", "concat", modality_dims=(6, 10), latent_dims=4, hidden=(16,), activation="relu", seed=2),
    ZooSpec("attention-tanh", "attention", modality_dims=(6, 10), latent_dims=4, hidden=(16,),
            activation="tanh", seed=3, lr=1e-3),
    # equal latent widths: the Theorem 3.3 and Section 3.4 checks also compare with summation
    ZooSpec("concat3-tanh", "concat", modality_dims=(6, 8, 10), latent_dims=4, hidden=(16,),
            activation="tanh", seed=4),
    ZooSpec("conv-sum-relu", "sum", modality_dims=(6,), latent_dims=6, hidden=(16,), activation="relu",
            kind="conv", image_size=16, channels=(4, 8), seed=5, epochs=20),
)

#: Paper-size variants (Section 5.3 widths: hidden 64-128-128-256-256, latent 288), trained on CUDA.
ZOO_GPU: dict[str, ZooSpec] = _entries(
    *(
        ZooSpec(f"paper-{fusion}-relu", fusion, modality_dims=(32, 48), latent_dims=PAPER_LATENT_DIM,
                hidden=PAPER_SENSOR_HIDDEN, activation="relu", n_factors=8, epochs=60, n_samples=16384,
                batch_size=256, lr=1e-3 if fusion != "attention" else 1e-4, seed=10 + k, device="cuda")
        for k, fusion in enumerate(("sum", "concat", "attention"))
    )
)


def get_spec(name: str | ZooSpec) -> ZooSpec:
    """The spec of ``name`` (looked up in :data:`ZOO`, then :data:`ZOO_GPU`); a spec is returned as is.

    >>> get_spec("sum-tanh").fusion
    'sum'
    """
    if isinstance(name, ZooSpec):
        return name
    for table in (ZOO, ZOO_GPU):
        if name in table:
            return table[name]
    raise KeyError(
        f"unknown zoo model {name!r}; the zoo has {', '.join(ZOO)}; GPU variants: {', '.join(ZOO_GPU)}"
    )


def build(spec: ZooSpec | str) -> MultimodalAutoencoder:
    """The untrained float32 model of ``spec``, on the CPU, initialised from ``spec.seed``.

    The weights depend only on the spec: torch's global random state is forked, seeded with
    ``spec.seed`` and restored afterwards, so calling :func:`build` neither depends on nor
    changes the caller's random state.

    >>> a, b = build("sum-tanh"), build("sum-tanh")
    >>> all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    True
    >>> a.num_modalities, a.latent_dims
    (2, (4, 4))
    """
    spec = get_spec(spec)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        fusion = make_fusion(spec.fusion, spec.latent_dims)
        out = fusion.output_dim
        encoders: list[torch.nn.Module] = []
        decoders: list[torch.nn.Module] = []
        lat = list(spec.latent_dims)
        if spec.kind == "conv":
            enc = ConvEncoder(spec.image_size, in_channels=1, channels=spec.channels, latent_dim=lat.pop(0),
                              activation_name=spec.activation)
            encoders.append(enc)
            decoders.append(ConvDecoder.mirror(enc, out, activation_name=spec.activation))
        for d, k in zip(spec.modality_dims, lat):
            encoders.append(MLPEncoder(d, latent_dim=k, hidden=spec.hidden, activation=spec.activation))
            decoders.append(MLPDecoder(out, d, hidden=tuple(reversed(spec.hidden)), activation=spec.activation))
        return MultimodalAutoencoder(encoders, fusion, decoders)


def spec_data(spec: ZooSpec | str, *, sample_seed: int | None = None, n_samples: int | None = None,
              dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
    """The data of ``spec``, in the order of the model's modalities (image first for ``kind="conv"``).

    With the defaults this is the training set; another ``sample_seed`` gives held-out samples of
    the same task.

    >>> [tuple(x.shape) for x in spec_data("conv-sum-relu", n_samples=2)]
    [(2, 1, 16, 16), (2, 6)]
    """
    spec = get_spec(spec)
    n = spec.n_samples if n_samples is None else n_samples
    kw = dict(n_factors=spec.n_factors, noise=spec.noise, seed=spec.seed, sample_seed=sample_seed, dtype=dtype)
    data = make_multimodal_data(n, spec.modality_dims, **kw) if spec.modality_dims else []
    if spec.kind == "conv":
        data.insert(0, make_image_modality(n, spec.image_size, **kw))
    return data


# ----------------------------------------------------------------------------- the cache
def default_cache_dir() -> Path:
    """``$LIPBOUND_CACHE`` if set, else ``~/.cache/lipbound``; raises
    :class:`~lipbound.errors.ConfigurationError` when that path is a file (or lies under one)."""
    env = os.environ.get("LIPBOUND_CACHE")
    if env:
        return check_folder_path(Path(env).expanduser(), "$LIPBOUND_CACHE (lipbound's cache folder)",
                                 "point it at a folder (made if missing) or unset it")
    return check_folder_path(Path.home() / ".cache" / "lipbound", "lipbound's default cache folder",
                             "set $LIPBOUND_CACHE to a folder to use another")


def spec_key(spec: ZooSpec | str) -> str:
    """A 16-hex-digit hash of the spec, the lipbound version and :data:`TRAINER_FORMAT`.

    >>> len(spec_key("sum-tanh")), spec_key("sum-tanh") == spec_key(replace(ZOO["sum-tanh"], epochs=1))
    (16, False)
    """
    spec = get_spec(spec)
    blob = json.dumps({"spec": spec.to_dict(), "lipbound": __version__, "trainer_format": TRAINER_FORMAT},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def cache_path(spec: ZooSpec | str, cache_dir: str | os.PathLike | None = None) -> Path:
    """Path of the cached weights (``.pt``) of ``spec``; the metadata is the same path with ``.json``."""
    spec = get_spec(spec)
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    zoo_dir = check_folder_path(root / "zoo", "the zoo's cache folder", "move the file away or use another cache folder")
    return zoo_dir / f"{spec.name}-{spec_key(spec)}.pt"


def state_dict_sha256(state: dict[str, torch.Tensor]) -> str:
    """sha256 of a state dict's contents (names, dtypes, shapes and raw bytes, in key order).

    Unlike the sha256 of a ``torch.save`` file (which embeds a random serialisation id), this is
    equal for equal weights, so it identifies a training result.
    """
    h = hashlib.sha256()
    for k in sorted(state):
        t = state[k].detach().to("cpu").contiguous()
        h.update(f"{k}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes())
    return h.hexdigest()


def _read_cached(spec: ZooSpec, pt: Path) -> MultimodalAutoencoder | None:
    """The cached model, or None if there is no entry; a bad entry warns and returns None."""
    meta_path = pt.with_suffix(".json")
    if not pt.exists() and not meta_path.exists():
        return None

    def bad(reason: str) -> None:
        warnings.warn(
            f"zoo model {spec.name!r}: the cache entry {pt.name} is unusable ({reason}); retraining it",
            ZooCacheWarning,
            stacklevel=4,
        )

    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        raw = pt.read_bytes()
    except (OSError, ValueError) as exc:
        bad(f"cannot read the weights or the metadata: {exc}")
        return None
    if not isinstance(meta, dict) or hashlib.sha256(raw).hexdigest() != meta.get("sha256"):
        bad("the sha256 of the weights file does not match the metadata")
        return None
    if meta.get("spec") != spec.to_dict():
        bad("the metadata was written for a different spec")
        return None
    try:
        state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
        model = build(spec)
        model.load_state_dict(state, strict=True)
        model.validate()
    except Exception as exc:  # any failure to restore the weights means: do not use them
        bad(f"cannot restore the weights: {type(exc).__name__}: {exc}")
        return None
    if state_dict_sha256(model.state_dict()) != meta.get("state_sha256"):
        bad("the weights do not match the recorded state hash")
        return None
    return model


def _train_and_cache(spec: ZooSpec, pt: Path, progress: bool) -> MultimodalAutoencoder:
    if spec.device == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailableError(
            f"zoo model {spec.name!r} is trained on CUDA, but torch.cuda.is_available() is False; "
            "load it on a machine with a GPU (the cached weights then load anywhere) or pass device='cpu'"
        )
    model = build(spec)
    data = spec_data(spec)
    result: TrainResult = train(
        model, data, epochs=spec.epochs, batch_size=spec.batch_size, lr=spec.lr, seed=spec.seed,
        device=spec.device, progress=progress,
    )
    model.to("cpu")
    state = {k: v.detach().to("cpu") for k, v in model.state_dict().items()}
    buf = io.BytesIO()
    torch.save(state, buf)
    raw = buf.getvalue()
    meta = {
        "name": spec.name,
        "spec": spec.to_dict(),
        "key": spec_key(spec),
        "final_loss": result.final_loss,
        "initial_loss": result.initial_loss,
        "losses": result.losses,
        "seconds": result.seconds,
        "device": result.device,
        "torch": torch.__version__,
        "lipbound": __version__,
        "trainer_format": TRAINER_FORMAT,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "state_sha256": state_dict_sha256(state),
    }
    # weights first, then the metadata that vouches for them: a crash in between leaves an entry
    # whose hash does not match, which the next load detects and retrains
    atomic_write_bytes(pt, raw)
    atomic_write_json(pt.with_suffix(".json"), meta)
    return model


def load(
    name: str | ZooSpec,
    *,
    cache_dir: str | os.PathLike | None = None,
    dtype: torch.dtype = torch.float64,
    retrain: bool = False,
    device: str | None = None,
    progress: bool = False,
) -> MultimodalAutoencoder:
    """The trained zoo model ``name`` (or of a :class:`ZooSpec`), in ``dtype``, on the CPU, in eval mode.

    Trains it on first use (on ``spec.device``) and caches the weights (see the module docs);
    later calls load the cache. A cache entry that fails its sha256 check, cannot be loaded or does
    not fit the spec is reported with a :class:`ZooCacheWarning` and retrained.

    Args:
        name: a key of :data:`ZOO` or :data:`ZOO_GPU`, or a spec.
        cache_dir: cache root; default :func:`default_cache_dir`.
        dtype: floating dtype of the returned model (training is in float32).
        retrain: train again even if a valid cache entry exists (and overwrite it).
        device: train on this device instead of ``spec.device``; it is part of the spec, so the
            result is cached separately.
        progress: print the training loss per epoch to standard error.

    Raises:
        KeyError: an unknown name.
        DeviceUnavailableError: training is needed on CUDA and there is none.
        NonFiniteError: the training diverged.
    """
    spec = get_spec(name)
    if device is not None and device != spec.device:
        spec = replace(spec, device=device)
    pt = cache_path(spec, cache_dir)
    model = None if retrain else _read_cached(spec, pt)
    if model is None:
        model = _train_and_cache(spec, pt, progress)
    return model.to(dtype=dtype).eval()


def load_all(
    names: Iterable[str] | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    dtype: torch.dtype = torch.float64,
    retrain: bool = False,
    progress: bool = False,
) -> dict[str, MultimodalAutoencoder]:
    """:func:`load` every model of ``names`` (default: all of :data:`ZOO`), by name."""
    names: Sequence[str] = list(ZOO) if names is None else list(names)
    return {n: load(n, cache_dir=cache_dir, dtype=dtype, retrain=retrain, progress=progress) for n in names}
