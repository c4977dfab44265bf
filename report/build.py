"""The analysts' validation report: a static offline site built from the qc schema.

Every number on the pages comes from the tables in quality/schema.sql, except the objectivity section
(report/objectivity.py), which reads the objectivity marts and the aggregates behind them. Unknown values are
never shown as zero: a null is «нет данных», a null municipality is «регион / не определён».
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from psycopg.rows import dict_row

from report import charts, objectivity

HERE = Path(__file__).resolve().parent
NO_DATA = "нет данных"
REGION = "регион / не определён"
REGION_SLUG = "region"

RUN_STATUS = {"running": "выполняется", "passed": "пройден", "warned": "есть предупреждения",
              "blocked": "есть блокировки", "failed": "сбой проверки"}
OUTCOME = {"passed": "пройдено", "warned": "предупреждение", "blocked": "блокировка",
           "error": "проверка не выполнена"}
POLICY = {"block": "блокирует загрузку", "warn": "предупреждение"}
LOAD_STATUS = {"loaded": "загружен", "failed": "ошибка загрузки", "interrupted": "загрузка прервана",
               "replaced": "заменён более поздним файлом", "refused": "не принят (не распознан)",
               "rejected": "отклонён", "running": "загружается", "skipped": "пропущен (уже загружен)",
               "blocked": "заблокирован"}
NOT_LOADED = {"failed", "interrupted", "refused", "rejected"}
EXAMPLE_LABELS = {"school_id": "код ОО", "registry_code": "код ОО", "municipality": "муниципалитет",
                  "load_id": "загрузка", "n": "строк", "row": "строка", "row_number": "строка",
                  "file": "файл", "file_name": "файл", "message": "сообщение", "school_year": "учебный год",
                  "subject": "предмет", "grade": "класс", "value": "значение", "column": "столбец",
                  "source_row": "строка"}
# Columns of example tables in this order (others after them, as they come).
EXAMPLE_ORDER = ("school_id", "registry_code", "municipality", "load_id", "file_name", "file", "source_row", "row",
                 "row_number", "n", "message")
# Keys that must never reach the page, whatever a suite returns: names and personal codes.
PRIVATE_KEYS = re.compile(r"participant|pupil|student|teacher_id|full_name|school_name|fio|^name$|surname|"
                          r"first_name|last_name|patronymic|snils|passport|birth", re.IGNORECASE)

TRANSLIT = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r",
                     "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"],
                    strict=True))


# --------------------------------------------------------------------------------------------- formatting

def fmt_num(value) -> str:
    if value is None:
        return NO_DATA
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}".replace(",", "\u00a0").replace(".", ",")
    return f"{int(value):,}".replace(",", "\u00a0")


def fmt_pct(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:.1f}\u00a0%".replace(".", ",")


def fmt_dt(value: datetime | None) -> str:
    if value is None:
        return NO_DATA
    zone = value.strftime("%Z") if value.tzinfo else ""
    return value.strftime("%d.%m.%Y %H:%M") + (f" {zone}" if zone else "")


def fmt_year(value: int | None) -> str:
    """School years are keyed by their spring year: 2021 is 2020/21."""
    return "не определён" if value is None else f"{value - 1}/{str(value)[-2:]}"


def fmt_muni(value: str | None) -> str:
    return REGION if value is None else value


def slugify(name: str | None) -> str:
    if name is None:
        return REGION_SLUG
    latin = "".join(TRANSLIT.get(ch, ch) for ch in name.lower())
    slug = re.sub(r"[^a-z0-9]+", "-", latin).strip("-")
    return slug or "m"


def fmt_sum(s: dict) -> Markup:
    """A known_sum: the number, and in small print how many parts were unknown."""
    text = escape(fmt_num(s["value"]))
    if s["missing"] and s["value"] is not None:
        text += Markup(" <small class=\"missing\">(без данных: {} из {})</small>").format(s["missing"], s["of"])
    return Markup(text)


def rate(part, whole) -> float | None:
    if part is None or not whole:
        return None
    return 100.0 * part / whole


def known_sum(values: Iterable) -> dict:
    """A sum that does not pretend: all unknown → None; some unknown → the known sum and how many were missing.
    Nothing to sum (no file arrived) is a known 0."""
    values = list(values)
    known = [v for v in values if v is not None]
    return {"value": sum(known) if known or not values else None, "missing": len(values) - len(known),
            "of": len(values)}


def feed_titles() -> dict[str, str]:
    try:
        from ingestion.run import BY_FEED
    except Exception:  # the report builds without the loaders too (titles fall back to feed names)
        return {}
    return {name: loader.title for name, loader in BY_FEED.items()}


# --------------------------------------------------------------------------------------------- data

@dataclass
class QC:
    runs: list[dict]
    loads: list[dict]
    validations: list[dict]
    results: list[dict]
    failures: list[dict]
    blocked: list[dict]
    quarantine: list[dict]
    volumes: list[dict]
    withheld: list[dict] = field(default_factory=list)
    validation_by_id: dict[int, dict] = field(default_factory=dict)
    load_by_id: dict[int, dict] = field(default_factory=dict)
    blocked_by_load: dict[int, dict] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)


QUERIES = {
    "runs": "select * from qc.runs where run_id <= %(upto)s order by run_id",
    "loads": "select * from qc.run_loads where run_id <= %(upto)s order by run_id, feed, file_name, load_id",
    "validations": "select * from qc.validations where run_id <= %(upto)s order by run_id, kind desc, suite, "
                   "validation_id",
    "results": "select r.* from qc.expectation_results r join qc.validations v using (validation_id) "
               "where v.run_id <= %(upto)s order by r.validation_id, r.success, r.policy, r.expectation_key",
    "failures": "select f.* from qc.expectation_failures f join qc.validations v using (validation_id) "
                "where v.run_id <= %(upto)s order by f.validation_id, f.expectation_key, f.municipality nulls last, "
                "f.load_id, f.failure_id",
    "blocked": "select * from qc.blocked_loads where run_id <= %(upto)s order by run_id, feed, file_name, load_id",
    "quarantine": "select * from qc.quarantine_summary where run_id <= %(upto)s "
                  "order by run_id, feed, municipality nulls last, rows desc, reason_code",
    "volumes": "select * from qc.feed_volumes where run_id <= %(upto)s "
               "order by run_id, feed, school_year nulls last, municipality nulls last",
}


QC_TABLES = ("runs", "run_loads", "validations", "expectation_results", "expectation_failures", "blocked_loads",
             "quarantine_summary", "feed_volumes")


def fetch(conn: psycopg.Connection, run_id: int | None = None) -> QC:
    upto = run_id if run_id is not None else 2**62
    with conn.cursor(row_factory=dict_row) as cur:
        data: dict[str, list[dict]] = {name: [] for name in QUERIES}
        # No qc schema yet (nothing validated): an empty report that says so, not an error.
        missing = [t for t in QC_TABLES
                   if cur.execute("select to_regclass(%s) as t", (f"qc.{t}",)).fetchone()["t"] is None]
        for name, query in QUERIES.items() if not missing else ():
            cur.execute(query, {"upto": upto})
            data[name] = cur.fetchall()
        # marts withheld now (a table added later than the others: absent from older warehouses)
        if not missing and run_id is None and cur.execute(
                "select to_regclass('qc.withheld_marts') as t").fetchone()["t"] is not None:
            data["withheld"] = cur.execute("select * from qc.withheld_marts order by relation").fetchall()
        if run_id is not None and not missing:
            # As of run N: a block released by a later run was still in force then.
            cut = cur.execute("select min(started_at) as t from qc.runs where run_id > %s", (run_id,)).fetchone()["t"]
            for b in data["blocked"]:
                if cut is not None and b["released_at"] is not None and b["released_at"] >= cut:
                    b["released_at"] = b["released_by_load"] = None
    qc = QC(**data)
    qc.validation_by_id = {v["validation_id"]: v for v in qc.validations}
    qc.load_by_id = {row["load_id"]: row for row in qc.loads}
    qc.blocked_by_load = {b["load_id"]: b for b in qc.blocked}
    results_by_key = {(r["validation_id"], r["expectation_key"]): r for r in qc.results}
    for f in qc.failures:
        r = results_by_key.get((f["validation_id"], f["expectation_key"]))
        f["policy"] = r["policy"] if r else None
        f["examples"] = clean_examples(f["examples"])
    for q in qc.quarantine:
        q["examples"] = clean_examples(q["examples"])
    return qc


def clean_examples(examples) -> list[dict]:
    """Up to five example rows as dicts, private keys dropped (defence in depth: the contract forbids them)."""
    if isinstance(examples, str):
        try:
            examples = json.loads(examples)
        except ValueError:
            examples = [examples]
    if isinstance(examples, dict):
        examples = [examples]
    rows = []
    for item in (examples or [])[:5]:
        if isinstance(item, dict):
            rows.append({k: v for k, v in item.items() if not PRIVATE_KEYS.search(str(k))})
        else:
            rows.append({"value": item})
    return rows


def example_table(examples: list[dict], loads: dict[int, dict] | None = None) -> dict:
    """Examples as a table; a load id links to its ledger row on its run's page."""
    present = list(dict.fromkeys(k for row in examples for k in row))
    columns = [c for c in EXAMPLE_ORDER if c in present] + [c for c in present if c not in EXAMPLE_ORDER]
    rows = []
    for row in examples:
        cells = []
        for c in columns:
            value, href = row.get(c), None
            if c == "load_id" and loads is not None and isinstance(value, int) and value in loads:
                href = f"run-{loads[value]['run_id']}.html#load-{value}"
            cells.append({"text": value, "href": href})
        rows.append(cells)
    return {"columns": [(c, EXAMPLE_LABELS.get(c, c)) for c in columns], "rows": rows}


# --------------------------------------------------------------------------------------------- aggregation

def load_view(load: dict, qc: QC) -> dict:
    """A ledger row of a load with what the checks did to it."""
    b = qc.blocked_by_load.get(load["load_id"])
    status = LOAD_STATUS.get(load["status"], load["status"])
    if b is not None:
        status = "заблокирован" if b["released_at"] is None else "заблокирован, затем заменён исправленным файлом"
    return {**load, "status_ru": status, "blocked": b, "not_loaded": load["status"] in NOT_LOADED,
            "href": f"run-{load['run_id']}.html#load-{load['load_id']}"}


def run_summary(run: dict, qc: QC, municipality: object = ...) -> dict:
    """What arrived, loaded, was quarantined, blocked and warned in one run; `municipality` narrows it to one
    (None: the region-wide / undetermined rows; omitted: everything)."""
    rid = run["run_id"]

    def mine(row) -> bool:
        return row["run_id"] == rid and (municipality is ... or row["municipality"] == municipality)

    loads = [load_view(row, qc) for row in qc.loads if mine(row)]
    blocked = [b for b in qc.blocked if mine(b)]
    quarantine = [q for q in qc.quarantine if mine(q)]
    validations = [v for v in qc.validations if v["run_id"] == rid]
    vids = {v["validation_id"] for v in validations}
    failures = [f for f in qc.failures if f["validation_id"] in vids
                and (municipality is ... or f["municipality"] == municipality)]
    failed_keys = {(f["validation_id"], f["expectation_key"]) for f in failures}
    results = [r for r in qc.results if r["validation_id"] in vids and not r["success"]
               and (municipality is ... or (r["validation_id"], r["expectation_key"]) in failed_keys)]

    failed_by_validation: dict[int, list[dict]] = defaultdict(list)
    for r in results:
        rows = [{**f, "load": qc.load_by_id.get(f["load_id"]),
                 "examples_table": example_table(f["examples"], qc.load_by_id)}
                for f in failures if (f["validation_id"], f["expectation_key"]) == (r["validation_id"],
                                                                                   r["expectation_key"])]
        failed_by_validation[r["validation_id"]].append({**r, "failures": rows})
    checks = []
    for v in validations:
        if municipality is not ... and v["validation_id"] not in failed_by_validation:
            continue
        checks.append({**v, "failed": failed_by_validation.get(v["validation_id"], [])})

    # an expectation that could not be evaluated is neither a warning nor a violation: it is shown as an error
    warn_results = [r for r in results if r["policy"] == "warn" and not r.get("errored")]
    block_results = [r for r in results if r["policy"] == "block" and not r.get("errored")]
    blocked_ids = {b["load_id"] for b in blocked}

    def feed_or_muni_row(key: str, value, rows: list[dict], quarantine_rows: list[dict]) -> dict:
        return {
            key: value,
            "files": len(rows),
            "loaded": sum(r["status"] == "loaded" and r["load_id"] not in blocked_ids for r in rows),
            "not_loaded": sum(r["not_loaded"] for r in rows),
            "blocked": sum(r["load_id"] in blocked_ids for r in rows),
            "rows_read": known_sum(r["rows_read"] for r in rows),
            "rows_loaded": known_sum(r["rows_loaded"] for r in rows),
            "rows_quarantined": known_sum(r["rows_quarantined"] for r in rows),
            "quarantine_reasons": len({q["reason_code"] for q in quarantine_rows}),
        }

    per_feed = []
    feeds = {r["feed"] for r in loads} | {v["feed"] for v in validations if v["feed"]} | {q["feed"] for q in quarantine}
    for feed in sorted(feeds, key=lambda f: qc.titles.get(f, f).casefold()):
        row = feed_or_muni_row("feed", feed, [r for r in loads if r["feed"] == feed],
                               [q for q in quarantine if q["feed"] == feed])
        feed_vids = {v["validation_id"] for v in validations if v["feed"] == feed}
        row["warnings"] = sum(r["validation_id"] in feed_vids for r in warn_results)
        row["violations"] = sum(r["validation_id"] in feed_vids for r in block_results)
        outcomes = [v["outcome"] for v in validations if v["feed"] == feed]
        row["outcome"] = next((o for o in ("blocked", "error", "warned", "passed") if o in outcomes), None)
        per_feed.append(row)

    per_muni = []
    if municipality is ...:
        munis = {r["municipality"] for r in loads} | {f["municipality"] for f in failures} | \
                {q["municipality"] for q in quarantine} | {b["municipality"] for b in blocked}
        for m in sorted(munis, key=muni_sort_key):
            row = feed_or_muni_row("municipality", m, [r for r in loads if r["municipality"] == m],
                                   [q for q in quarantine if q["municipality"] == m])
            mf = [f for f in failures if f["municipality"] == m]
            row["warnings"] = len({(f["validation_id"], f["expectation_key"]) for f in mf if f["policy"] == "warn"})
            row["violations"] = len({(f["validation_id"], f["expectation_key"]) for f in mf
                                     if f["policy"] == "block"})
            row["slug"] = None  # filled by the caller (the slug map)
            per_muni.append(row)

    reasons: dict[tuple, dict] = {}
    for q in quarantine:
        item = reasons.setdefault((q["reason_code"], q["reason"]), {"reason_code": q["reason_code"],
                                                                     "reason": q["reason"], "rows": 0, "parts": []})
        item["rows"] += q["rows"]
        item["parts"].append({**q, "examples_table": example_table(q["examples"], qc.load_by_id)})
    total = feed_or_muni_row("total", None, loads, quarantine)
    return {
        "run": run,
        "loads": loads,
        "blocked": [{**b, "load": qc.load_by_id.get(b["load_id"]),
                     "released_load": qc.load_by_id.get(b["released_by_load"])} for b in blocked],
        "checks": checks,
        "validations": validations,
        "warnings": len(warn_results),
        "violations": len(block_results),
        "per_feed": per_feed,
        "per_muni": per_muni,
        "reasons": sorted(reasons.values(), key=lambda r: -r["rows"]),
        "total": total,
        "quarantine_rate": rate(total["rows_quarantined"]["value"], total["rows_read"]["value"]),
        "outcomes": {o: sum(v["outcome"] == o for v in validations) for o in OUTCOME},
    }


def muni_sort_key(m):
    return (m is None, (m or "").casefold())


def volume_tables(volumes: list[dict], by: str, titles: dict[str, str]) -> list[dict]:
    """Per feed: a table school year × `by` (municipality or feed) of participants and schools."""
    out = []
    for feed in sorted({v["feed"] for v in volumes}, key=lambda f: titles.get(f, f).casefold()):
        rows = [v for v in volumes if v["feed"] == feed]
        years = sorted({v["school_year"] for v in rows}, key=lambda y: (y is None, y or 0))
        keys = sorted({v[by] for v in rows}, key=muni_sort_key)
        cell = {(v["school_year"], v[by]): v for v in rows}
        has_participants = any(v["participants"] is not None for v in rows)
        out.append({"feed": feed, "relation": rows[0]["relation"], "years": years, "groups": keys, "cell": cell,
                    "has_participants": has_participants})
    return out


# --------------------------------------------------------------------------------------------- rendering

def environment(titles: dict[str, str], slugs: dict) -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=fmt_num, pct=fmt_pct, dt=fmt_dt, year=fmt_year, muni=fmt_muni,
                       feed=lambda f: titles.get(f, f) if f else NO_DATA,
                       run_status=lambda s: RUN_STATUS.get(s, s), outcome=lambda s: OUTCOME.get(s, s or NO_DATA),
                       policy=lambda s: POLICY.get(s, s or NO_DATA),
                       muni_href=lambda m: f"municipality-{slugs[m]}.html",
                       sum=fmt_sum,
                       example=lambda v: NO_DATA if v is None else str(v))
    return env


def slug_map(qc: QC) -> dict:
    names = {r["municipality"] for table in (qc.loads, qc.failures, qc.quarantine, qc.blocked, qc.volumes)
             for r in table}
    slugs: dict = {}
    used: set[str] = set()
    for name in sorted(names, key=muni_sort_key):
        base = slugify(name)
        slug, i = base, 2
        while slug in used:
            slug, i = f"{base}-{i}", i + 1
        used.add(slug)
        slugs[name] = slug
    return slugs


def gx_link(out_dir: Path, path: str | None) -> str | None:
    """The GX Data Docs page of a validation, relative to the site, if it is there."""
    if not path:
        return None
    candidate = Path(path)
    for p in ([candidate] if candidate.is_absolute() else [out_dir / candidate, out_dir / "gx" / candidate]):
        if p.is_file():
            return Path(os.path.relpath(p, out_dir)).as_posix()
    return None


def build_report(conn: psycopg.Connection, out_dir: Path, run_id: int | None = None) -> Path:
    """Rebuild the site in `out_dir` from the qc schema (up to `run_id`, default all runs); returns index.html."""
    started = time.monotonic()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    qc = fetch(conn, run_id)
    titles = qc.titles = feed_titles()
    slugs = slug_map(qc)
    env = environment(titles, slugs)
    for old in [*out_dir.glob("run-*.html"), *out_dir.glob("municipality-*.html")]:
        old.unlink()
    shutil.rmtree(out_dir / "charts", ignore_errors=True)
    static = out_dir / "static"
    static.mkdir(exist_ok=True)
    shutil.copy2(HERE / "static" / "report.css", static / "report.css")

    gx_index = (out_dir / "gx" / "index.html").is_file()
    for v in qc.validations:
        v["gx_href"] = gx_link(out_dir, v["gx_result_path"])
    runs = qc.runs
    summaries = {r["run_id"]: run_summary(r, qc) for r in runs}
    for s in summaries.values():
        for row in s["per_muni"]:
            row["slug"] = slugs[row["municipality"]]
    latest = runs[-1] if runs else None
    municipalities = [{"name": m, "slug": s} for m, s in slugs.items()]
    common = {"runs": runs, "latest": latest, "gx_index": gx_index, "municipalities": municipalities,
              "built_at": datetime.now().astimezone(), "upto": run_id}

    def write(file_name: str, template: str, **context) -> Path:
        path = out_dir / file_name
        path.write_text(env.get_template(template).render(page=file_name, **common, **context), encoding="utf-8")
        return path

    active_blocks = [{**b, "load": qc.load_by_id.get(b["load_id"])} for b in qc.blocked if b["released_at"] is None]
    index = write("index.html", "index.html", summaries=summaries,
                  latest_summary=summaries[latest["run_id"]] if latest else None, active_blocks=active_blocks,
                  withheld=qc.withheld)
    for r in runs:
        write(f"run-{r['run_id']}.html", "run.html", s=summaries[r["run_id"]])

    volumes_by_run: dict[int, list[dict]] = defaultdict(list)
    for v in qc.volumes:
        volumes_by_run[v["run_id"]].append(v)
    volume_run = max(volumes_by_run) if volumes_by_run else None
    latest_volumes = volumes_by_run.get(volume_run, [])
    write("trends.html", "trends.html", **trends(out_dir, runs, summaries, qc, latest_volumes, volume_run, titles))
    for m in slugs:
        write(f"municipality-{slugs[m]}.html", "municipality.html",
              **municipality_context(out_dir, m, slugs[m], runs, qc, latest_volumes, volume_run, titles))
    objectivity.write_pages(conn, out_dir, env, write, qc.withheld, slugify)
    (out_dir / "municipalities.json").write_text(
        json.dumps({s: (m if m is not None else REGION) for m, s in slugs.items()}, ensure_ascii=False, indent=1),
        encoding="utf-8")
    (out_dir / "build.json").write_text(json.dumps({"runs": len(runs), "municipalities": len(slugs),
                                                    "seconds": round(time.monotonic() - started, 2)}))
    return index


def run_label(run: dict) -> str:
    return f"№{run['run_id']}\n{run['started_at']:%d.%m}" if run.get("started_at") else f"№{run['run_id']}"


def trends(out_dir: Path, runs: list[dict], summaries: dict, qc: QC, volumes: list[dict], volume_run,
           titles: dict[str, str]) -> dict:
    tables = volume_tables(volumes, "municipality", titles)
    for t in tables:
        labels = [fmt_year(y) for y in t["years"]]
        participants = {fmt_muni(k): [t["cell"].get((y, k), {}).get("participants") for y in t["years"]]
                        for k in t["groups"]}
        schools = {fmt_muni(k): [t["cell"].get((y, k), {}).get("schools") for y in t["years"]] for k in t["groups"]}
        t["chart"] = charts.volume_chart(out_dir / "charts" / f"volumes-{t['feed']}.svg", labels,
                                         participants if t["has_participants"] else None, schools
                                         ).relative_to(out_dir).as_posix()
    rates = [summaries[r["run_id"]]["quarantine_rate"] for r in runs]
    rate_chart = None
    if runs:
        rate_chart = charts.rate_chart(out_dir / "charts" / "quarantine-rate.svg", "Доля отложенных строк по прогонам",
                                       [run_label(r) for r in runs], rates).relative_to(out_dir).as_posix()
    # Across runs: what the warehouse held per feed at each run (rows, summed over years and municipalities).
    feeds = sorted({v["feed"] for v in qc.volumes})
    by_run_feed: dict[tuple, list] = defaultdict(list)
    for v in qc.volumes:
        by_run_feed[(v["run_id"], v["feed"])].append(v)
    run_rows = [{"feed": f, "cells": [known_sum(v["rows"] for v in by_run_feed[(r["run_id"], f)])
                                      if by_run_feed.get((r["run_id"], f)) else None for r in runs]}
                for f in feeds]
    return {"tables": tables, "volume_run": volume_run, "rate_chart": rate_chart, "rates": rates,
            "summaries": summaries, "run_rows": run_rows}


def municipality_context(out_dir: Path, m, slug: str, runs: list[dict], qc: QC, volumes: list[dict], volume_run,
                         titles: dict[str, str]) -> dict:
    per_run = [run_summary(r, qc, municipality=m) for r in runs]
    present = [s for s in per_run if s["loads"] or s["blocked"] or s["checks"] or s["reasons"]]
    mine = [v for v in volumes if v["municipality"] == m]
    tables = volume_tables(mine, "municipality", titles)
    years = sorted({v["school_year"] for v in mine}, key=lambda y: (y is None, y or 0))
    series = {titles.get(t["feed"], t["feed"]): [t["cell"].get((y, m), {}).get("participants") for y in years]
              for t in tables if t["has_participants"]}
    chart = None
    if series:
        chart = charts.participants_chart(out_dir / "charts" / f"municipality-{slug}.svg",
                                          f"Участники по потокам данных: {fmt_muni(m)}",
                                          [fmt_year(y) for y in years], series).relative_to(out_dir).as_posix()
    active_blocks = [{**b, "load": qc.load_by_id.get(b["load_id"])} for b in qc.blocked
                     if b["released_at"] is None and b["municipality"] == m]
    return {"name": m, "slug": slug, "history": per_run, "recent": list(reversed(present))[:5],
            "older": max(len(present) - 5, 0), "years": years, "tables": tables, "chart": chart,
            "volume_run": volume_run, "active_blocks": active_blocks}
