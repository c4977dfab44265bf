"""The objectivity section: `objectivity.html` (per municipality, the schools with signs) and one page per
municipality, `objectivity-<slug>.html`, with the evidence of each school-year (histogram against the region with
the cut scores, the register comparison, the task-difficulty profile) and the federal markers labelled apart.

Wording: «признаки», «кандидат», «требуют подтверждения» — a sign is a reason to check, never a verdict; schools are
listed by name, never ranked (ВПР results are not used to rate schools).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import psycopg
from jinja2 import Environment

from report import objectivity_charts
from report.objectivity_data import FLAGGED, INSUFFICIENT, SIGN_STATUSES, Objectivity, difficulty_profile, fetch

NO_DATA = "нет данных"
# Charts take ~0.3–0.5 s each: beyond this many school-years with charts the rest get the evidence tables only
# (the overall status «признаки необъективности» and the latest years first)
CHART_SCHOOL_YEARS = 120
NOT_COMPUTED = "недостаточно данных"
STATUS_CLASS = {"признаки необъективности": "bad", "отдельные признаки": "warn", "нет признаков": "ok",
                "недостаточно данных": "none"}
CHECK_STATUS_ORDER = {"признак": 0, "нет признаков": 1, "недостаточно данных": 2, "нет данных": 3}
SUB_CHECKS = {"main": "", "raised": "«Повысили»", "lowered": "«Понизили»", "gap2": "расхождение на 2 отметки",
              "identical": "одинаковые ответы", "pairs": "общие ошибки в парах", "guttman": "ошибки Гуттмана",
              "official": "критерий Рособрнадзора", "slope": "наклон по трудности заданий", "cell": "по ячейке",
              "subject": "по предмету", "school_year": "по школе за год", "single_year": "без следующего года"}
BASIS = {"individual": "по работам участников", "aggregated": "по отчётам ФИС ОКО", "none": "данных нет"}


def safe(key: str) -> str:
    """A registry code as a file name or an anchor (codes are letters and digits; anything else is replaced)."""
    return re.sub(r"[^0-9A-Za-z_-]", "_", str(key))


def fmt_value(value, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NO_DATA
    text = f"{float(value):,.{digits}f}".replace(",", "\u00a0").replace(".", ",")
    return text


def fmt_p(value) -> str:
    if value is None:
        return "—"
    value = float(value)
    if value < 0.0001:
        return "< 0,0001"
    return f"{value:.4f}".replace(".", ",")


def fmt_share(value) -> str:
    return NO_DATA if value is None else f"{fmt_value(value)}\u00a0%"


def subject_label(names: dict[str, str], subject: str | None, grade: int | None) -> str:
    if subject in (None, "all"):
        return f"все предметы, {grade} класс" if grade else "школа в целом"
    return f"{names.get(subject, subject)}, {grade} класс" if grade else f"{names.get(subject, subject)}, все классы"


def flag_view(r: dict, names: dict[str, str]) -> dict:
    threshold = (f"{r['comparison'] or ''} {fmt_value(r['threshold'], 2)}".strip()
                 if r["threshold"] is not None else "—")
    return {**r, "cell": subject_label(names, r["subject_code"], r["grade"]),
            "sub": SUB_CHECKS.get(r["sub_check"], r["sub_check"] or ""),
            "effect_text": fmt_value(r["effect"], 2), "unit": r["effect_unit"] or "",
            "threshold_text": threshold,
            "region_text": fmt_value(r["region_value"], 2) if r["region_value"] is not None else "—",
            "p_text": fmt_p(r["p_value"]), "p_adj_text": fmt_p(r["p_adjusted"]),
            "percentile_text": "—" if r["percentile"] is None else fmt_value(100 * float(r["percentile"])) + "-й",
            "basis": BASIS.get(r["data_basis"], r["data_basis"] or NO_DATA)}


def check_summary(rows: list[dict]) -> list[dict]:
    """One line per check of the school-year: its status (any sign → «признак»), and why it was not computed."""
    by_check: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_check[r["check_code"]].append(r)
    out = []
    for code in sorted(by_check, key=lambda c: (len(c), c)):
        rs = by_check[code]
        status = min((r["status"] for r in rs), key=lambda s: CHECK_STATUS_ORDER.get(s, 9))
        reasons = list(dict.fromkeys(r["insufficient_reason"] for r in rs
                                     if r["status"] in INSUFFICIENT and r["insufficient_reason"]))
        out.append({"check_code": code, "check_name": rs[0]["check_name"] or code, "status": status,
                    "cells": len(rs), "flagged": sum(r["status"] == FLAGGED for r in rs),
                    "computed": sum(r["status"] not in INSUFFICIENT for r in rs),
                    "reasons": reasons[:3], "more_reasons": max(len(reasons) - 3, 0)})
    return out


def cut_table(school: dict[int, int], cuts: dict[int, int]) -> list[dict]:
    """FIOKO's look at each cut c: pupils at c−2, c−1 and c; R = N(c) / mean(N(c−1), N(c−2))."""
    rows = []
    for mark, c in sorted(cuts.items()):
        below = (school.get(c - 2, 0) + school.get(c - 1, 0)) / 2
        rows.append({"mark": mark, "cut": c, "n2": school.get(c - 2, 0), "n1": school.get(c - 1, 0),
                     "n0": school.get(c, 0),
                     "ratio": fmt_value(school.get(c, 0) / below, 2) if below else NOT_COMPUTED})
    return rows


def evidence_view(data: Objectivity, out_dir: Path, sid: str, year: int, subject: str, grade: int,
                  title_prefix: str, draw: bool) -> dict:
    key, cell = (sid, year, subject, grade), (year, subject, grade)
    school = data.histograms.get(key, {})
    region = data.region_histograms.get(cell, {})
    cuts = data.cuts.get(cell, {})
    tasks = data.tasks.get(key, [])
    label = subject_label(data.subject_names, subject, grade)
    path = out_dir / "charts" / "objectivity" / f"{safe(sid)}-{year}-{safe(subject)}-{grade}.svg"
    chart = objectivity_charts.evidence_chart(
        path, f"{title_prefix}: {label}", school, region, cuts, data.histogram_basis.get(key), tasks) if draw else None
    register, region_register = data.register.get(key), data.region_register.get(cell)
    return {"label": label, "chart": chart.relative_to(out_dir).as_posix() if chart else None,
            "chart_limit": CHART_SCHOOL_YEARS, "n_hist": sum(school.values()),
            "basis": BASIS.get(data.histogram_basis.get(key), NO_DATA), "cuts": cut_table(school, cuts) if school
            else [], "has_cuts": bool(cuts), "register": register, "region_register": region_register,
            "difficulty": difficulty_profile(tasks), "n_tasks": len(tasks)}


def school_year_view(data: Objectivity, out_dir: Path, s: dict, draw: bool) -> dict:
    key = (s["school_id"], s["school_year"])
    rows = data.flags.get(key, [])
    signs = [flag_view(r, data.subject_names) for r in rows if r["status"] == FLAGGED]
    from report.build import fmt_year  # here, not at the top: report.build imports this module

    evidence = [evidence_view(data, out_dir, s["school_id"], s["school_year"], subj, grade,
                              f"{s['school_name'] or s['school_id']}, {fmt_year(s['school_year'])}", draw)
                for subj, grade in data.evidence_cells.get(key, [])]
    low = data.low_results.get(key)
    return {**s, "anchor": f"school-{safe(s['school_id'])}-{s['school_year']}", "signs": signs,
            "low_results": (low["status_label"] or ("кандидат" if low["is_candidate"] else None)) if low else None,
            "checks": check_summary(rows), "evidence": evidence,
            "status_class": STATUS_CLASS.get(s["status"], "none"), "with_signs": s["status"] in SIGN_STATUSES}


def municipality_summary(statuses: list[dict]) -> list[dict]:
    rows: dict = {}
    for s in statuses:
        r = rows.setdefault(s["municipality"], {"municipality": s["municipality"], "school_years": 0,
                                                "schools": set(), **{k: 0 for k in STATUS_CLASS}, "federal": 0})
        r["school_years"] += 1
        r["schools"].add(s["school_id"])
        if s["status"] in STATUS_CLASS:
            r[s["status"]] += 1
        r["federal"] += bool(s["federal_listed"])
    return [{**r, "schools": len(r["schools"])} for r in rows.values()]


def unique_slugs(names, slugify: Callable[[str | None], str]) -> dict:
    out, used = {}, set()
    for name in sorted(names, key=lambda m: (m is None, (m or "").casefold())):
        base = slugify(name)
        slug, i = base, 2
        while slug in used:
            slug, i = f"{base}-{i}", i + 1
        used.add(slug)
        out[name] = slug
    return out


def write_pages(conn: psycopg.Connection, out_dir: Path, env: Environment, write: Callable[..., Path],
                withheld: list[dict], slugify: Callable[[str | None], str]) -> list[Path]:
    """Write objectivity.html and the municipalities' evidence pages; returns the pages written."""
    for old in out_dir.glob("objectivity-*.html"):
        old.unlink()
    env.filters.update(share=fmt_share, value=fmt_value)
    try:
        data = fetch(conn, withheld)
    except psycopg.Error as error:   # a mart of another shape than the contract: say so, keep the rest of the site
        if not conn.autocommit:
            conn.rollback()
        return [write("objectivity.html", "objectivity.html", built=False, missing=[], withheld=[],
                      error=str(error).splitlines()[0])]
    if not data.built:
        return [write("objectivity.html", "objectivity.html", built=False, missing=data.missing,
                      withheld=data.withheld, error=None)]
    slugs = unique_slugs({s["municipality"] for s in data.statuses}, slugify)
    shown: dict = defaultdict(list)
    for s in data.shown:
        shown[s["municipality"]].append(s)
    munis = []
    pages = []
    years = sorted({s["school_year"] for s in data.statuses})
    priority = sorted(data.shown, key=lambda s: (s["status"] != SIGN_STATUSES[0], s["status"] not in SIGN_STATUSES,
                                                 -s["school_year"], s["school_id"]))
    drawn = {(s["school_id"], s["school_year"]) for s in priority[:CHART_SCHOOL_YEARS]}
    for m, slug in slugs.items():
        items = sorted(shown.get(m, []), key=lambda s: ((s["school_name"] or "").casefold(), s["school_id"],
                                                          -s["school_year"]))
        views = [school_year_view(data, out_dir, s, (s["school_id"], s["school_year"]) in drawn) for s in items]
        page = f"objectivity-{slug}.html"
        munis.append({"name": m, "slug": slug, "page": page, "schools": views})
        pages.append(write(page, "objectivity_municipality.html", muni=m, items=views, histogram_source=
                           data.histogram_source, years=years))
    summary = municipality_summary(data.statuses)
    for row in summary:
        row["page"] = f"objectivity-{slugs[row['municipality']]}.html"
    pages.insert(0, write("objectivity.html", "objectivity.html", built=True, munis=munis, summary=summary,
                          checks=data.checks,
                          years=years, n_school_years=len(data.statuses), error=None))
    return pages
