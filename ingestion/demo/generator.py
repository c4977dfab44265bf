"""generate_region(): the whole demo region in one call (used by the CLI, the DAG and the tests)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from .context import passport_shares, write_registry, write_social_passport
from .gia import write_gia
from .kdr import write_kdr
from .lists import write_lists
from .municipal import write_municipal
from .pupils import Pupils
from .region import build_region
from .run import Run
from .truth import DefectPlanter, write_truth
from .vpr import write_vpr
from .writers import write_all

# Every landing folder of docs/feed_layouts.md.
FEEDS = ("registry", "vpr_individual", "vpr_marks", "vpr_scores", "vpr_journal", "vpr_tasks", "vpr_flat_marks",
         "vpr_flat_scores", "objectivity_markers", "gia", "shnor_list", "project500", "risk_profiles", "kdr",
         "social_passport", "performance", "olympiads", "teachers", "vacancies", "support_events",
         "improvement_programmes", "individual_routes")


def plan_region(schools: int, seed: int) -> Run:
    """Every file of the region as a FileSpec (its rows as Python values), nothing written yet."""
    region = build_region(schools, seed)
    run = Run(region, Pupils(region, seed), DefectPlanter(seed), seed)
    write_registry(run)
    write_social_passport(run, passport_shares(run))
    write_lists(run)  # before municipal feeds: they involve the listed schools
    write_vpr(run)
    write_kdr(run)
    write_gia(run)
    write_municipal(run)
    return run


def generate_region(out_dir: Path, schools: int = 160, seed: int = 42, workers: int | None = None,
                    clean: bool = False) -> dict:
    """Write the demo region's landing files and _truth/truth.json under out_dir.

    Deterministic for (schools, seed). `clean` first removes the feed folders this generator owns
    (never anything else). Returns files and data rows per feed."""
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    if clean:
        for feed in (*FEEDS, "_truth"):
            shutil.rmtree(out_dir / feed, ignore_errors=True)
    run = plan_region(schools, seed)
    region = run.region
    write_all(run.files, out_dir, workers)
    # Data rows per file (not counting titles, headers, blank and school lines): tests compare the loaders'
    # rows read with it, so every row of every demo file is accounted for.
    manifest = {f"{f.feed}/{f.name}": f.data_rows for f in run.files}
    truth = write_truth(region, run.planter, out_dir, {**run.extra_truth, "files": manifest})
    files: dict[str, int] = dict.fromkeys(FEEDS, 0)
    rows: dict[str, int] = dict.fromkeys(FEEDS, 0)
    for f in run.files:
        files[f.feed] += 1
        rows[f.feed] += f.data_rows
    return {
        "out_dir": str(out_dir),
        "schools": len(region.schools),
        "seed": seed,
        "files": files,
        "rows": rows,
        "planted_defects": len(run.planter.records),
        "truth": str(truth),
        "seconds": round(time.perf_counter() - t0, 1),
    }
