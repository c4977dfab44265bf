"""generate_region(): the whole demo region in one call (used by the CLI, the DAG and the tests)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from .context import passport_shares, write_registry, write_social_passport
from .cut_change import write_scale
from .gia import write_gia
from .kdr import write_kdr
from .lists import write_lists
from .municipal import write_municipal
from .pupils import Pupils
from .realistic import DEFAULT_SCHOOLS as REALISTIC_SCHOOLS
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


PROFILES = ("current", "realistic")
DEFAULT_SCHOOLS = {"current": 160, "realistic": REALISTIC_SCHOOLS}


def plan_region(schools: int, seed: int, profile: str = "current", cut_change_year: int | None = None) -> Run:
    """Every file of the region as a FileSpec (its rows as Python values), nothing written yet."""
    if profile not in PROFILES:
        raise ValueError(f"профиль {profile!r}: ожидается один из {PROFILES}")
    region = build_region(schools, seed, profile, cut_change_year)
    run = Run(region, Pupils(region, seed), DefectPlanter(seed), seed)
    write_registry(run)
    write_social_passport(run, passport_shares(run))
    write_lists(run)  # before municipal feeds: they involve the listed schools
    write_vpr(run)
    write_kdr(run)
    write_gia(run)
    write_municipal(run)
    return run


def generate_region(out_dir: Path, schools: int | None = None, seed: int = 42, workers: int | None = None,
                    clean: bool = False, profile: str = "current", cut_change_year: int | None = None) -> dict:
    """Write the demo region's landing files and _truth/truth.json under out_dir.

    Deterministic for (schools, seed, profile, cut_change_year); `schools` defaults to the profile's size
    (160 current, 400 realistic). `profile="current"` gives exactly the files of the generator before profiles
    existed. `cut_change_year` raises every ВПР cut from that year on (cut_change.py). `clean` first removes the
    feed folders this generator owns (never anything else). Returns files and data rows per feed."""
    schools = DEFAULT_SCHOOLS[profile] if schools is None and profile in DEFAULT_SCHOOLS else schools
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    if clean:
        for feed in (*FEEDS, "_truth"):
            shutil.rmtree(out_dir / feed, ignore_errors=True)
    run = plan_region(schools, seed, profile, cut_change_year)
    region = run.region
    write_all(run.files, out_dir, workers)
    # Data rows per file (not counting titles, headers, blank and school lines): tests compare the loaders'
    # rows read with it, so every row of every demo file is accounted for.
    manifest = {f"{f.feed}/{f.name}": f.data_rows for f in run.files}
    truth = write_truth(region, run.planter, out_dir, {**run.extra_truth, "files": manifest})
    write_scale(region, out_dir)
    files: dict[str, int] = dict.fromkeys(FEEDS, 0)
    rows: dict[str, int] = dict.fromkeys(FEEDS, 0)
    for f in run.files:
        files[f.feed] += 1
        rows[f.feed] += f.data_rows
    return {
        "out_dir": str(out_dir),
        "schools": len(region.schools),
        "seed": seed,
        "profile": profile,
        "cut_change_year": cut_change_year,
        "planted_school_years": planted_school_years(region),
        "files": files,
        "rows": rows,
        "planted_defects": len(run.planter.records),
        "truth": str(truth),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def planted_school_years(region) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in region.schools:
        for _, method in s.inflation:
            out[method] = out.get(method, 0) + 1
    return dict(sorted(out.items()))
