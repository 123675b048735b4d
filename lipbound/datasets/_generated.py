"""What the MuJoCo datasets share: configurations per size, the episode loop, the split into
train and test episodes, throughput and provenance in ``meta``, and the cache."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..errors import LipboundError
from ._base import SIZES, ModalitySpec, MultimodalDataset
from ._cache import cached_build
from ._procedural import LABEL as PROCEDURAL_LABEL
from ._sim import Scene

def resolve_config(name: str, size: str, configs: dict[str, dict[str, Any]], overrides: dict[str, Any]) -> dict:
    """``configs[size]`` plus ``renderer`` (``$LIPBOUND_RENDERER`` or ``"mujoco"``), updated by
    ``overrides`` (keys must exist; integer values positive)."""
    if size not in SIZES:
        raise LipboundError(f"size must be one of {SIZES}, got {size!r}")
    cfg = dict(configs[size], renderer=os.environ.get("LIPBOUND_RENDERER") or "mujoco")
    unknown = sorted(set(overrides) - set(cfg))
    if unknown:
        raise LipboundError(f"{name}: unknown configuration keys {unknown}; known: {sorted(cfg)}")
    cfg.update(overrides)
    for k, v in cfg.items():
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and int(v) < 1:
            raise LipboundError(f"{name}: {k} must be a positive integer, got {v}")
    if cfg["renderer"] not in ("mujoco", "procedural"):
        raise LipboundError(f"{name}: renderer must be 'mujoco' or 'procedural' (from the override or "
                            f"LIPBOUND_RENDERER), got {cfg['renderer']!r}")
    if cfg["image_size"] < 8:
        raise LipboundError(f"{name}: image_size must be at least 8 pixels, got {cfg['image_size']}")
    if cfg["seq_len"] > cfg["frames"]:
        raise LipboundError(f"{name}: seq_len={cfg['seq_len']} exceeds frames={cfg['frames']} per episode")
    return cfg


EpisodeFn = Callable[[Scene, np.random.Generator, dict], dict[str, np.ndarray]]


def generate(name: str, size: str, seed: int, cfg: dict, *, xml: str, arms: tuple[str, ...],
             specs: Callable[[dict], tuple[ModalitySpec, ...]], episode: EpisodeFn,
             generator: str) -> MultimodalDataset:
    """Run ``cfg["train_episodes"]`` + ``cfg["test_episodes"]`` episodes of ``episode`` and stack
    their samples (train and test come from different episodes, seeded by ``(seed, 0)`` and
    ``(seed, 1)``, so no trajectory is split across them). ``specs(cfg)`` gives the modalities;
    ``episode(scene, rng, cfg | {"split": split})`` returns per-modality arrays (images uint8, series float) plus an optional
    ``"label"``."""
    t0 = time.perf_counter()
    specs = specs(cfg)
    scene = Scene(xml, cfg["image_size"], arms, renderer=cfg["renderer"])
    mujoco = scene.mujoco
    splits: dict[str, dict[str, torch.Tensor]] = {}
    labels: dict[str, list[int]] = {}
    try:
        for stream, split in enumerate(("train", "test")):
            rng = np.random.default_rng([seed, stream])
            parts = [episode(scene, rng, dict(cfg, split=split)) for _ in range(cfg[f"{split}_episodes"])]
            data = {}
            for m in specs:
                a = np.concatenate([p[m.name] for p in parts])
                data[m.name] = (torch.from_numpy(a.astype(np.float32) / np.float32(255.0)) if m.kind == "image"
                                else torch.from_numpy(a.astype(np.float32)))
            splits[split] = data
            if "label" in parts[0]:
                labels[split] = np.concatenate([p["label"] for p in parts]).astype(int).tolist()
    finally:
        scene.close()
    seconds = time.perf_counter() - t0
    n = sum(next(iter(d.values())).shape[0] for d in splits.values())
    meta = {"name": name, "size": size, "seed": seed, "config": cfg, "generator": generator,
            "renderer": (f"mujoco {mujoco.__version__} Renderer, MUJOCO_GL={os.environ.get('MUJOCO_GL')}"
                         if cfg["renderer"] == "mujoco" else PROCEDURAL_LABEL),
            "simulation": "kinematic (scripted joint angles, mj_forward; no contact dynamics)",
            "image_storage": "uint8", "image_range": [0.0, 1.0],
            "series_units": "radians for joint angles, metres for positions",
            "n_train": int(splits["train"][specs[0].name].shape[0]),
            "n_test": int(splits["test"][specs[0].name].shape[0]),
            "generation_seconds": round(seconds, 4), "samples_per_second": round(n / seconds, 2)}
    if labels:
        meta["labels"] = labels
    return MultimodalDataset(name, specs, splits["train"], splits["test"], meta)


def build(name: str, size: str, seed: int, cache_dir, overrides: dict, configs: dict, **kw) -> MultimodalDataset:
    """:func:`resolve_config`, then :func:`generate` through the cache."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise LipboundError(f"{name}: seed must be a non-negative integer, got {seed!r}")
    cfg = resolve_config(name, size, configs, overrides)
    return cached_build(name, size, int(seed), cfg, cache_dir,
                        lambda: generate(name, size, int(seed), cfg, **kw))


def run_frames(scene: Scene, frames: int, seq_len: int, step: int, set_frame: Callable[[int], np.ndarray]):
    """Step an episode: for each frame ``t`` call ``set_frame(t)`` (it poses the scene, calls
    :meth:`Scene.forward` and returns the frame's series values), render at the window ends. Returns the images
    ``(n, 3, H, W)`` and the full per-frame series ``(frames, C)`` and the window ends."""
    from ._sim import window_ends

    ends = window_ends(frames, seq_len, step)
    is_end = np.zeros(frames, dtype=bool)
    is_end[ends] = True
    rows, images = [], []
    for t in range(frames):
        rows.append(set_frame(t))
        if is_end[t]:
            images.append(scene.render())
    return np.stack(images), np.stack(rows), ends
