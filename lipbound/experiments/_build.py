"""Build the multimodal autoencoder of Section 5.3 for a dataset's modalities.

Per modality kind: ``image`` (C, H, W) -> :class:`~lipbound.models.ConvEncoder` and its mirrored
:class:`~lipbound.models.ConvDecoder` (sigmoid output, images in [0, 1]); ``series`` (T, C) ->
:class:`SeriesEncoder` (flatten + MLP, the paper's "n-64-128-128-256-256-288" sensor branch on the
flattened window) and :class:`SeriesDecoder`; ``vector`` (d,) -> MLP encoder/decoder. Every part
is a chain of layers that :mod:`lipbound.bounds` can bound, so each can be tracked during training.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..datasets import ModalitySpec
from ..errors import LipboundError
from ..models import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder, MultimodalAutoencoder, make_fusion
from ._config import Architecture


class SeriesEncoder(nn.Sequential):
    """Flatten a ``(T, C)`` window and encode it with an MLP (``T*C -> hidden -> latent_dim``).

    >>> enc = SeriesEncoder((5, 2), latent_dim=3, hidden=(4,))
    >>> enc(torch.zeros(7, 5, 2)).shape
    torch.Size([7, 3])
    """

    def __init__(self, shape: Sequence[int], latent_dim: int, hidden: Sequence[int]) -> None:
        t, c = (int(v) for v in shape)
        super().__init__(nn.Flatten(start_dim=-2), MLPEncoder(t * c, latent_dim, hidden=tuple(hidden)))
        self.in_shape = (t, c)
        self.latent_dim = int(latent_dim)


class SeriesDecoder(nn.Sequential):
    """Decode a fused latent into a ``(T, C)`` window (MLP to ``T*C``, then unflatten).

    >>> dec = SeriesDecoder(3, (5, 2), hidden=(4,))
    >>> dec(torch.zeros(7, 3)).shape
    torch.Size([7, 5, 2])
    """

    def __init__(self, in_features: int, shape: Sequence[int], hidden: Sequence[int]) -> None:
        t, c = (int(v) for v in shape)
        super().__init__(MLPDecoder(in_features, t * c, hidden=tuple(hidden)), nn.Unflatten(-1, (t, c)))
        self.in_features = int(in_features)
        self.out_shape = (t, c)


def _encoder(spec: ModalitySpec, arch: Architecture) -> nn.Module:
    if spec.kind == "image":
        c, h, w = spec.shape
        return ConvEncoder((h, w), in_channels=c, channels=arch.channels, latent_dim=arch.latent_dim)
    if spec.kind == "series":
        return SeriesEncoder(spec.shape, arch.latent_dim, arch.hidden)
    return MLPEncoder(spec.shape[0], arch.latent_dim, hidden=arch.hidden)


def _decoder(spec: ModalitySpec, enc: nn.Module, width: int, arch: Architecture) -> nn.Module:
    if spec.kind == "image":
        return ConvDecoder.mirror(enc, width, final_activation="sigmoid")
    if spec.kind == "series":
        return SeriesDecoder(width, spec.shape, tuple(reversed(arch.hidden)))
    return MLPDecoder(width, spec.shape[0], hidden=tuple(reversed(arch.hidden)))


def build_model(modalities: Sequence[ModalitySpec], fusion: str, arch: Architecture, *, lam: float | None = None,
                seed: int = 0) -> MultimodalAutoencoder:
    """The autoencoder for ``modalities`` with ``fusion``; weights drawn after ``torch.manual_seed(seed)``.

    ``lam`` sets the attention fusions' L2 weight (Eq. 7); the attention score network is linear
    (``small``) or two layers of ``latent_dim`` features (``paper``, Section 5.3).

    >>> from lipbound.datasets import ModalitySpec
    >>> m = build_model([ModalitySpec("a", "vector", (3,)), ModalitySpec("b", "series", (4, 2))], "concat",
    ...                 Architecture(latent_dim=2, hidden=(4,)))
    >>> [tuple(y.shape) for y in m([torch.zeros(5, 3), torch.zeros(5, 4, 2)])]
    [(5, 3), (5, 4, 2)]
    """
    torch.manual_seed(int(seed))
    encs = [_encoder(s, arch) for s in modalities]
    dims = [arch.latent_dim] * len(encs)
    kwargs: dict = {}
    if fusion.startswith("attention"):
        kwargs["projection"] = arch.attention_projection
        if lam is not None:
            kwargs["l2"] = float(lam)
    fus = make_fusion(fusion, dims, **kwargs)
    decs = [_decoder(s, e, fus.output_dim, arch) for s, e in zip(modalities, encs)]
    return MultimodalAutoencoder(encs, fus, decs)


def modality_mse(inputs: Sequence[torch.Tensor], outputs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    r"""Per-modality mean squared error :math:`\frac{1}{n d_j}\sum \lVert x_j - D_j(z) \rVert^2`.

    The training loss is their sum (Section 5.3's MSE per modality, summed over modalities); Eq. 2
    sums squared errors instead of averaging them, which weighs a 3x64x64 image 12288 times as
    much as one sensor value, so the harness uses the per-modality mean.

    >>> [float(v) for v in modality_mse([torch.ones(2, 3)], [torch.zeros(2, 3)])]
    [1.0]
    """
    return [(x - y).pow(2).mean() for x, y in zip(inputs, outputs)]


def param_norm(module: nn.Module) -> float:
    """Euclidean norm of all parameters of ``module`` (0 when it has none)."""
    sq = sum(float(p.detach().double().pow(2).sum()) for p in module.parameters())
    return math.sqrt(sq)


# ------------------------------------------------------------------ memory: what a run's phases need
GIB = 2 ** 30
#: training keeps this many times the bytes of one forward pass's module outputs per sample
#: (autograd saves them for the backward pass; measured 0.89x for the paper model on a CPU, 1.25 leaves room)
TRAIN_ACT_FACTOR = 1.25
#: an evaluation (no autograd) holds at most the input and output of one module per sample; this
#: factor on the largest such pair covers the allocator (measured 1.5x on a CPU)
EVAL_ACT_FACTOR = 2.0
#: the Lipschitz tracking's float64 copy holds the forward pass, the graph of its backward pass and
#: power-iteration vectors per input: this factor on the float64 module outputs (measured 2.2x)
TRACK_ACT_FACTOR = 3.0
#: the certified bound of a convolution (lipbound.bounds.conv_norm_upper) makes the complex128 DFT of
#: its kernel, c_out x c_in x N1 x N2, and the SVD copies it: this many times those bytes (measured
#: 2.9x: 6.8 GB for the paper model on 128 x 128 images, whose largest DFT is 2.35 GB)
CONV_FFT_FACTOR = 3.5
#: the corruption of one modality's test set: its output plus working memory, taken as this many
#: copies of the modality's test set (lipbound.datasets.corrupt works in bounded chunks)
CORRUPT_FACTOR = 3.0
#: evaluation batches hold at most about this many bytes of activations (the batch is at least the
#: training batch and at most 1024 samples; deterministic, independent of the machine)
EVAL_BYTES = GIB
#: what CUDA needs besides tensors (context, cuDNN/cuBLAS workspaces), taken as this much
CUDA_OVERHEAD = GIB
#: set to ``off`` to skip the pre-flight memory check (:func:`check_memory`)
MEMORY_CHECK_ENV = "LIPBOUND_MEMORY_CHECK"


class MemoryBudgetError(LipboundError):
    """A phase of a run would need more memory than the machine (or the GPU) has free; raised
    before the run allocates it. The message names the phase, the estimate and what to change."""


@dataclass(frozen=True)
class ActivationProfile:
    """Bytes per sample of a model's forward pass (in the model's dtype), read on the ``meta``
    device (nothing allocated; a model with an operation that has no meta kernel runs one sample on
    the CPU instead): ``forward`` sums the outputs of every leaf module, ``peak_pair`` is
    the largest input + output of one leaf module; ``encoder_*`` the same per encoder;
    ``params`` the parameters' bytes; ``conv_fft`` the largest complex128 kernel DFT the certified
    bound of a convolution makes (0 without convolutions); ``latent`` the fused latent's bytes."""

    forward: int
    peak_pair: int
    encoder_forward: tuple[int, ...]
    encoder_peak_pair: tuple[int, ...]
    params: int
    conv_fft: int
    latent: int


def _leaf_bytes(module: nn.Module, run) -> tuple[int, int, list[tuple[nn.Module, tuple, tuple]]]:
    total, peak, convs = 0, 0, []

    def hook(mod, inp, out):
        nonlocal total, peak
        o = sum(t.numel() * t.element_size() for t in (out if isinstance(out, (list, tuple)) else [out])
                if torch.is_tensor(t))
        i = sum(t.numel() * t.element_size() for t in inp if torch.is_tensor(t))
        total += o
        peak = max(peak, i + o)
        if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d)):
            convs.append((mod, tuple(inp[0].shape), tuple(out.shape)))

    leaves = [m for m in module.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        run()
    finally:
        for h in handles:
            h.remove()
    return total, peak, convs


def activation_profile(model: MultimodalAutoencoder, modalities: Sequence[ModalitySpec]) -> ActivationProfile:
    """:class:`ActivationProfile` of ``model`` on one sample of ``modalities``.

    >>> from lipbound.datasets import ModalitySpec
    >>> mods = [ModalitySpec("a", "vector", (3,)), ModalitySpec("b", "image", (1, 16, 16))]
    >>> p = activation_profile(build_model(mods, "sum", Architecture(latent_dim=2, hidden=(4,), channels=(2,))), mods)
    >>> p.conv_fft > 0, p.forward > p.peak_pair > 0
    (True, True)
    """
    import copy

    dtype = next(model.parameters()).dtype
    probe = copy.deepcopy(model)
    try:
        probe = probe.to("meta")
        xs = [torch.zeros((1, *s.shape), dtype=dtype, device="meta") for s in modalities]
        with torch.no_grad():
            fwd, peak, convs = _leaf_bytes(probe, lambda: probe(xs))
            enc = [_leaf_bytes(e, lambda e=e, x=x: e(x)) for e, x in zip(probe.encoders, xs)]
    except (NotImplementedError, RuntimeError):  # an operation without a meta kernel: one real sample on the CPU
        probe = copy.deepcopy(model).to("cpu")
        xs = [torch.zeros((1, *s.shape), dtype=dtype) for s in modalities]
        with torch.no_grad():
            fwd, peak, convs = _leaf_bytes(probe, lambda: probe(xs))
            enc = [_leaf_bytes(e, lambda e=e, x=x: e(x)) for e, x in zip(probe.encoders, xs)]
    fft = 0
    for mod, i_shape, o_shape in convs:
        h, w = (o_shape if isinstance(mod, nn.ConvTranspose2d) else i_shape)[-2:]
        kh, kw = mod.kernel_size
        p0, p1 = (mod.padding if isinstance(mod.padding, tuple) else (mod.padding, mod.padding))
        n1, n2 = max(h + 2 * int(p0), kh) + 2, max(w + 2 * int(p1), kw) + 2  # the largest DFT size tried
        fft = max(fft, mod.weight.shape[0] * mod.weight.shape[1] * n1 * n2 * 16)
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    lat = model.fusion.output_dim * torch.empty((), dtype=dtype).element_size()
    return ActivationProfile(fwd, peak, tuple(e[0] for e in enc), tuple(e[1] for e in enc), params, fft, lat)


def eval_batch_size(batch_size: int, profile: ActivationProfile) -> int:
    """Batch of the evaluations (test loss, epoch-0 loss, detection's encodings): the training
    batch or more, up to 1024 samples, while the activations stay within :data:`EVAL_BYTES`
    (deterministic: it depends on the model and the batch size only).

    >>> eval_batch_size(64, ActivationProfile(1, 2**20, (1,), (1,), 1, 0, 1))
    512
    """
    per = max(1, int(EVAL_ACT_FACTOR * profile.peak_pair))
    return int(max(batch_size, min(1024, EVAL_BYTES // per)))


def fmt_bytes(n: float) -> str:
    """``n`` bytes in GiB (at least 1 GiB) or MiB.

    >>> fmt_bytes(3 * GIB), fmt_bytes(5 * 2**20)
    ('3.00 GiB', '5.0 MiB')
    """
    return f"{n / GIB:.2f} GiB" if abs(n) >= GIB else f"{n / 2 ** 20:.1f} MiB"


def _nbytes(t: torch.Tensor, dtype: torch.dtype | None = None) -> int:
    return t.numel() * torch.empty((), dtype=dtype or t.dtype).element_size()


def memory_estimate(cfg, profile: ActivationProfile, ds, *, device: torch.device) -> dict[str, dict]:
    """Estimated peak bytes of each phase of run ``cfg`` on ``ds``: ``{phase: {"device": bytes,
    "host": bytes, "detail": str}}`` for the phases ``data``, ``training``, ``evaluation``,
    ``tracking``, ``detection`` and ``corruption`` (those the configuration runs). ``device`` bytes
    are on the run's device (for a CPU run, on top of what the process holds already: the loaded
    dataset is not counted again), ``host`` bytes in the CPU's memory when the device is a GPU (the
    certified bounds of the tracking run there). The phases run one after the other: each figure
    includes what stays allocated throughout (the data on the device, the weights, gradients, Adam's
    two moments and the epoch's start state kept for a NaN replay: 7 x the parameters).
    """
    gpu = device.type == "cuda"
    names = list(ds.modality_names)
    data = sum(_nbytes(ds.train[n], torch.float32) + _nbytes(ds.test[n], torch.float32) for n in names) if gpu else 0
    resident = data + 7 * profile.params + (CUDA_OVERHEAD if gpu else 0)
    n_train, n_test = ds.train[names[0]].shape[0], ds.test[names[0]].shape[0]
    bs = min(cfg.batch_size, n_train)  # the largest batch the run makes
    eb = min(eval_batch_size(cfg.batch_size, profile), max(n_test, min(n_train, 512)))
    out = {"data": {"device": data, "host": 0, "detail": "training and test sets on the device"}}
    act = int(bs * profile.forward * TRAIN_ACT_FACTOR)
    out["training"] = {"device": resident + act, "host": 0,
                       "detail": f"batch of {bs}: {fmt_bytes(act)} of activations"}
    ev = int(eb * profile.peak_pair * EVAL_ACT_FACTOR)
    out["evaluation"] = {"device": resident + ev, "host": 0, "detail": f"batches of {eb}: {fmt_bytes(ev)}"}
    if cfg.track_every >= 0:
        k = min(cfg.track_inputs, n_test)
        esz = torch.empty((), dtype=next(iter(ds.test.values())).dtype).element_size()
        f64 = 8 / esz
        tr = int(2 * profile.params * f64 + k * profile.forward * f64 * TRACK_ACT_FACTOR)
        cert = int(profile.conv_fft * CONV_FFT_FACTOR + profile.params * f64)
        detail = f"{k} inputs in float64: {fmt_bytes(tr)}; certified convolution bounds: {fmt_bytes(cert)}"
        if gpu:
            out["tracking"] = {"device": resident + tr, "host": cert, "detail": detail + " (on the host)"}
        else:
            out["tracking"] = {"device": resident + max(tr, cert), "host": 0, "detail": detail}
    if cfg.detect:
        from ._data import CORRUPTION_CACHE_BYTES

        enc = int(eb * max(profile.encoder_peak_pair) * EVAL_ACT_FACTOR)
        lat = int(3 * n_test * profile.latent * (len(names) + 1))
        biggest = max(_nbytes(ds.test[n]) for n in names)
        cache = min(CORRUPTION_CACHE_BYTES, biggest * 5) if gpu else 0
        out["detection"] = {"device": resident + enc + lat + biggest + cache, "host": 0,
                            "detail": f"encodings in batches of {eb}: {fmt_bytes(enc)}; a corrupted test set: "
                                      f"{fmt_bytes(biggest)}"}
        out["corruption"] = {"device": resident + lat + cache + int(CORRUPT_FACTOR * biggest), "host": 0,
                             "detail": f"corrupting the largest modality's test set ({fmt_bytes(biggest)})"}
    return out


def available_memory(device: torch.device) -> int | None:
    """Bytes this process can still allocate on ``device``: on a GPU the free memory
    (``torch.cuda.mem_get_info``) plus what torch's allocator holds unused; on the CPU
    ``MemAvailable`` of ``/proc/meminfo``, lowered to the cgroup's limit minus its usage where one is
    set. None where it cannot be read (then nothing is checked)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device))
    avail = None
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
    except OSError:
        return None
    for limit_f, usage_f in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                             ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            limit = open(limit_f).read().strip()
            usage = int(open(usage_f).read().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 2 ** 60:
            room = int(limit) - usage
            avail = room if avail is None else min(avail, room)
        break
    return avail


#: what to change when a phase does not fit
_FIXES = {
    "data": "train on the CPU (--device cpu) or on a smaller dataset (--size small)",
    "training": "use a smaller batch size (RunConfig.batch_size) or a device with more free memory (--device cuda)",
    "evaluation": "use a smaller batch size (RunConfig.batch_size; evaluations use at least the training batch)",
    "tracking": "track on fewer inputs (RunConfig.track_inputs), turn tracking off (--track-every -1) or use a "
                "machine with more memory (the certified bounds of large convolutions need it)",
    "detection": "turn failure detection off (RunConfig.detect=False) or use a smaller batch size",
    "corruption": "turn failure detection off (RunConfig.detect=False) or use a device with more free memory",
}


def check_memory(cfg, estimate: dict[str, dict], *, device: torch.device, budget: int | None = None,
                 host_budget: int | None = None, share: int = 1) -> None:
    """Raise :class:`MemoryBudgetError` for the first phase of ``estimate`` (:func:`memory_estimate`)
    that needs more than ``budget`` bytes on ``device`` (default: :func:`available_memory` divided
    by ``share``, the number of runs that share the machine) or ``host_budget`` on the host. Skipped
    when ``$LIPBOUND_MEMORY_CHECK`` is ``off`` or the free memory cannot be read."""
    import os

    if os.environ.get(MEMORY_CHECK_ENV, "").lower() == "off":
        return
    share = max(1, int(share))
    if budget is None:
        free = available_memory(device)
        budget = None if free is None else free // share
    if host_budget is None and device.type == "cuda":
        free = available_memory(torch.device("cpu"))
        host_budget = None if free is None else free // share
    shared = f" (this run's share: 1/{share} of it)" if share > 1 else ""
    for phase, est in estimate.items():
        for where, need, room in (("device", est["device"], budget), ("host", est["host"], host_budget)):
            if room is None or need <= room:
                continue
            place = "the host (CPU) memory" if where == "host" or device.type != "cuda" else f"{device}"
            raise MemoryBudgetError(
                f"run {cfg.run_id}: the {phase} phase needs about {fmt_bytes(need)} of {place} ({est['detail']}), "
                f"but only {fmt_bytes(max(room, 0))} is free{shared}; nothing was allocated. To fix: "
                f"{_FIXES[phase]}. (The estimate is deliberately generous; {MEMORY_CHECK_ENV}=off skips this check.)")
