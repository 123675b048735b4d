"""The paper's reported loss tables (Section 5.8, Tables 1 and 2), as recovered from its text.

The text copy lost its math symbols: the "±" between mean and standard deviation is gone (each cell
reads "mean std"), and so is whatever followed "Training in" / "Testing in" in the header rows
(presumably a unit or scale factor, e.g. a power of ten): **the scale of these numbers is
unreadable**, so they are compared with lipbound's by their pattern (ordering of the fusions, ratio
between modalities), not their magnitude. Both tables are on RoboMNIST (10 trials): Table 1
bimodal (sensor = kinematics, image), Table 2 trimodal (plus the WiFi CSI signal). "Combined" is
the sum of the modality losses (checked in the tests within the paper's rounding).

>>> PAPER_TABLES[1]["train"]["attention"]["image"]
(0.063, 0.003)
"""

from __future__ import annotations

#: modality order of the paper's columns, per table
PAPER_MODALITIES: dict[int, tuple[str, ...]] = {1: ("sensor", "image"), 2: ("sensor", "image", "signal")}

_T1 = {
    "train": {
        "sum": "21.351 2.043 | 0.098 0.005 | 21.449 2.043",
        "concat": "26.945 1.939 | 0.097 0.007 | 27.042 1.941",
        "attention": "1.5580 0.075 | 0.063 0.003 | 1.6210 0.075",
    },
    "test": {
        "sum": "25.728 2.178 | 0.191 0.017 | 25.919 2.171",
        "concat": "33.563 2.296 | 0.188 0.020 | 33.751 2.299",
        "attention": "2.1990 0.087 | 0.152 0.010 | 2.3520 0.085",
    },
}
_T2 = {
    "train": {
        "sum": "16.676 2.118 | 0.092 0.004 | 33.990 2.770 | 50.757 4.559",
        "concat": "23.448 3.096 | 0.093 0.006 | 54.465 2.619 | 78.006 4.428",
        "attention": "1.8760 0.144 | 0.073 0.004 | 17.582 0.198 | 19.5310 0.145",
    },
    "test": {
        "sum": "44.452 4.546 | 0.191 0.016 | 87.011 1.310 | 131.654 4.844",
        "concat": "54.730 9.361 | 0.191 0.016 | 97.978 2.182 | 152.899 9.494",
        "attention": "3.3520 0.185 | 0.160 0.013 | 31.698 0.533 | 35.2090 0.539",
    },
}


def _parse(table: dict[str, dict[str, str]], mods: tuple[str, ...]) -> dict[str, dict[str, dict[str, tuple[float, float]]]]:
    out: dict[str, dict[str, dict[str, tuple[float, float]]]] = {}
    for split, by_fusion in table.items():
        out[split] = {}
        for fusion, line in by_fusion.items():
            cells = [tuple(float(x) for x in c.split()) for c in line.split("|")]
            out[split][fusion] = dict(zip((*mods, "combined"), cells, strict=True))  # type: ignore[arg-type]
    return out


#: ``PAPER_TABLES[table][split][fusion][modality or "combined"] = (mean, std)``; split is
#: ``"train"`` or ``"test"``, fusion ``"sum"``, ``"concat"`` or ``"attention"``
PAPER_TABLES: dict[int, dict[str, dict[str, dict[str, tuple[float, float]]]]] = {
    1: _parse(_T1, PAPER_MODALITIES[1]),
    2: _parse(_T2, PAPER_MODALITIES[2]),
}

#: where each table stands in the paper, and on what data
PAPER_TABLE_SOURCE = {
    1: "Table 1 (Section 5.8): RoboMNIST, bimodal (sensor = kinematics, image), 10 trials",
    2: "Table 2 (Section 5.8): RoboMNIST, trimodal (sensor, image, signal = WiFi CSI), 10 trials",
}
