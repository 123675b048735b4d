"""Generation throughput of the generated multimodal datasets, and what the cache saves.

For each dataset, in one run on one machine: generate it into an empty cache folder (render +
kinematics + windowing + writing the cache), then load it again from the cache; report samples per
second of each and their ratio, the cache file's size, and the corruption throughput of Section
5.7's failure injection on the generated images and series. Writes the "datasets" section of
``benchmarks/RESULTS.md``.

    python benchmarks/bench_datasets.py                      # small size (the default)
    python benchmarks/bench_datasets.py --size paper         # the paper-size configuration
    python benchmarks/bench_datasets.py --train-episodes 2 --test-episodes 1   # a quick check
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere


def _measure(name: str, size: str, seed: int, overrides: dict) -> dict:
    from lipbound.datasets import DATASETS, IMAGE_CORRUPTIONS, SERIES_CORRUPTIONS, corrupt

    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        ds = DATASETS[name](size=size, seed=seed, cache_dir=d, **overrides)
        t_gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        hit = DATASETS[name](size=size, seed=seed, cache_dir=d, **overrides)
        t_hit = time.perf_counter() - t0
        assert hit.meta["cache"] == "hit" and hit.meta["checksum"] == ds.meta["checksum"]
        file_mb = Path(ds.meta["cache_file"]).stat().st_size / 2**20
    n = ds.meta["n_train"] + ds.meta["n_test"]
    cam = ds.train["camera"]
    t0 = time.perf_counter()
    for c in IMAGE_CORRUPTIONS:
        corrupt(c, cam, severity=0.5, seed=seed)
    t_img = (time.perf_counter() - t0) / len(IMAGE_CORRUPTIONS)
    series = [m.name for m in ds.modalities if m.kind == "series"][0]
    x = ds.train[series]
    t0 = time.perf_counter()
    for c in SERIES_CORRUPTIONS:
        corrupt(c, x, severity=0.5, seed=seed)
    t_ser = (time.perf_counter() - t0) / len(SERIES_CORRUPTIONS)
    shapes = ", ".join(f"{m.name} {tuple(m.shape)}" for m in ds.modalities)
    return {"name": name, "n": n, "shapes": shapes, "gen_s": t_gen, "gen_rate": n / t_gen,
            "meta_rate": ds.meta["samples_per_second"], "hit_s": t_hit, "hit_rate": n / t_hit,
            "speedup": t_gen / t_hit, "file_mb": file_mb, "img_rate": cam.shape[0] / t_img,
            "ser_rate": x.shape[0] / t_ser, "renderer": ds.meta["renderer"]}


def main(argv=None) -> int:
    from benchmarks._results import command_line, machine, write_section
    from lipbound.datasets import DATASETS

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=("small", "paper"), default="small")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--datasets", nargs="+", default=["pick-and-place", "welding-single", "welding-dual", "robomnist"],
                   choices=sorted(set(DATASETS) - {"synthetic"}))
    p.add_argument("--train-episodes", type=int, help="override the size's number of training episodes")
    p.add_argument("--test-episodes", type=int, help="override the size's number of test episodes")
    p.add_argument("--no-write", action="store_true", help="print, do not write benchmarks/RESULTS.md")
    args = p.parse_args(argv)
    overrides = {k: v for k, v in (("train_episodes", args.train_episodes),
                                   ("test_episodes", args.test_episodes)) if v is not None}
    rows = []
    for name in args.datasets:
        r = _measure(name, args.size, args.seed, overrides)
        rows.append(r)
        print(f"{name}: {r['n']} samples, generate {r['gen_rate']:.1f}/s, cache hit {r['hit_rate']:.0f}/s "
              f"({r['speedup']:.0f}x)", flush=True)
    md = [
        "## datasets: generation throughput and cache",
        "",
        f"Command: `{command_line()}`  ",
        f"Machine: {machine()}  ",
        f"Renderer: {rows[0]['renderer']}; size `{args.size}`, seed {args.seed}"
        + (f", overrides {overrides}" if overrides else "") + ".",
        "",
        "Generation = MuJoCo kinematics + headless rendering + Section 5.1 windowing + writing the cache "
        "(wall time of one call into an empty cache folder); cache hit = the same call again (sha256 check + "
        "load). Corruptions: samples per second of `corrupt(name, x, severity=0.5)` averaged over the image "
        "(resp. series) corruptions, on the training split. Wall-clock figures, one run each.",
        "",
        "| dataset | samples | modalities | generate (s) | generate (samples/s) | cache hit (s) | hit speed-up "
        "| cache file (MiB) | image corruptions (samples/s) | series corruptions (samples/s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        md.append(f"| {r['name']} | {r['n']} | {r['shapes']} | {r['gen_s']:.2f} | {r['gen_rate']:.1f} | "
                  f"{r['hit_s']:.3f} | {r['speedup']:.0f}x | {r['file_mb']:.2f} | {r['img_rate']:.0f} | "
                  f"{r['ser_rate']:.0f} |")
    text = "\n".join(md) + "\n"
    print(text)
    if not args.no_write:
        write_section("datasets", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
