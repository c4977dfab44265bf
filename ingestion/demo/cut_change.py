"""A region-wide change of the ВПР cut scores (`--cut-change-year Y`), in either profile.

From year Y on the state raises the lowest primary score of «3», «4» and «5» of every subject × grade by
1–2 points (each cut its own draw). Pupils' abilities and primary scores do not change; the official marks in
every file follow the new cuts. A scale change is permanent (as real ones are), so Y − 1 → Y is the one break.
The register (journal) mark is the teacher's, not the ВПР scale's, so it keeps the old standard.

The warehouse's seed `dbt_project/seeds/vpr_mark_scales.csv` describes the default demo scale and is not
edited: with a cut change it does not match years ≥ Y. The changed scale is written beside truth.json as
`_truth/vpr_mark_scales.csv` in the seed's format (validity split at Y), which is what a real region would add
to the seed.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np

from .region import Region
from .scales import VPR_TESTS, YEARS, TestSpec

SUBJECT_CODES = {"Русский язык": "rus", "Математика": "math"}
SCALE_SOURCE = "Демо-регион: шкала с изменёнными границами отметок (ingestion/demo/cut_change.py)"


def plant_cut_change(region: Region, year: int) -> None:
    if year not in YEARS[1:]:
        raise ValueError(f"год изменения шкалы должен быть одним из {YEARS[1:]} (нужен предыдущий год)")
    rng = np.random.default_rng([region.seed, 95, year])
    region.cut_change_year = year
    for key, test in VPR_TESTS.items():
        # +1 or +2 on each cut; cuts stay increasing and below the maximum
        shift = [int(x) for x in rng.integers(1, 3, len(test.cuts))]
        new = list(test.cuts)
        for k in range(len(new)):
            new[k] = min(test.cuts[k] + shift[k], test.max_score - (len(new) - 1 - k))
            if k and new[k] <= new[k - 1]:
                new[k] = new[k - 1] + 1
        region.cut_shift[key] = tuple(n - c for n, c in zip(new, test.cuts, strict=True))


def vpr_test(region: Region, subject: str, grade: int, year: int) -> TestSpec:
    """The ВПР test as marked in `year`: the demo scale, or the raised cuts from the change year on."""
    test = VPR_TESTS[(subject, grade)]
    if region.cut_change_year is None or year < region.cut_change_year:
        return test
    shift = region.cut_shift[(subject, grade)]
    return dataclasses.replace(test, cuts=tuple(c + d for c, d in zip(test.cuts, shift, strict=True)))


def cut_change_truth(region: Region) -> dict | None:
    if region.cut_change_year is None:
        return None
    shifts: dict[str, dict[str, dict[str, int]]] = {}
    for (subject, grade), shift in region.cut_shift.items():
        shifts.setdefault(SUBJECT_CODES[subject], {})[str(grade)] = {str(m): d for m, d in zip((3, 4, 5), shift,
                                                                                             strict=True)}
    return {"year": region.cut_change_year, "shift_points": shifts,
            "valid_years": [y for y in YEARS if y >= region.cut_change_year],
            "scale_file": "_truth/vpr_mark_scales.csv"}


def write_scale(region: Region, out_dir: Path) -> Path | None:
    """The ВПР scale in force each year, in the format of the seed vpr_mark_scales.csv."""
    if region.cut_change_year is None:
        return None
    y = region.cut_change_year
    rows = []
    for (subject, grade), test in sorted(VPR_TESTS.items(), key=lambda kv: (SUBJECT_CODES[kv[0][0]], kv[0][1])):
        new = vpr_test(region, subject, grade, y)
        for (lo, hi), cuts, source in (((YEARS[0], y - 1), test.cuts, None), ((y, YEARS[-1]), new.cuts, SCALE_SOURCE)):
            for mark, low in zip((2, 3, 4, 5), (0, *cuts), strict=True):
                rows.append([lo, hi, SUBJECT_CODES[subject], grade, mark, low,
                             source or "Демо-регион: шкала, по которой сгенерированы демо-данные "
                                       "(ingestion/demo/scales.py)"])
    path = out_dir / "_truth" / "vpr_mark_scales.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["valid_from", "valid_to", "subject_code", "grade", "mark", "min_primary_score", "source"])
        w.writerows(rows)
    return path
