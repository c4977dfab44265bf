"""What the objectivity section reads from the warehouse: the objectivity marts and, for the schools with signs,
the evidence behind them (score histograms, the register comparison, the task-difficulty profile).

Only aggregates are read: counts of pupils per score, shares per group and completion per task. No pupil row,
pupil code or name is selected. Every relation is optional: a missing one gives «недостаточно данных» on the page,
never an error (the marts are built by dbt after the qc report may already exist).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

import psycopg
from psycopg.rows import dict_row

MARTS = ("marts.mart_objectivity", "marts.mart_objectivity_flags")
SIGN_STATUSES = ("признаки необъективности", "отдельные признаки")
FLAGGED = "признак"
INSUFFICIENT = ("недостаточно данных", "нет данных")
# at most this many cells of one school-year get evidence charts (the flagged ones first)
MAX_EVIDENCE_CELLS = 3

STATUS_COLUMNS = ("school_id", "school_name", "municipality", "school_year", "status", "status_reason",
                  "checks_flagged", "n_checks_flagged", "checks_flagged_previous_year", "checks_insufficient",
                  "n_checks_computed", "rule_version", "federal_listed", "federal_marker_count", "federal_markers",
                  "federal_vs_computed")
FLAG_COLUMNS = ("school_id", "school_year", "procedure_code", "subject_code", "grade", "check_code", "check_name",
                "sub_check", "data_basis", "status", "n_participants", "effect", "effect_unit", "threshold",
                "comparison", "region_value", "p_value", "p_adjusted", "percentile", "rule_version", "explanation",
                "insufficient_reason")

Cell = tuple[int, str, int]          # school_year, subject_code, grade
SchoolCell = tuple[str, int, str, int]


@dataclass
class Objectivity:
    """A mart missing or withheld (qc.withheld_marts) → `built` is False: the page says the section is not built."""
    built: bool
    missing: list[str] = field(default_factory=list)
    withheld: list[dict] = field(default_factory=list)
    statuses: list[dict] = field(default_factory=list)          # mart_objectivity, every school-year
    shown: list[dict] = field(default_factory=list)             # school-years with signs or on the federal list
    flags: dict[tuple[str, int], list[dict]] = field(default_factory=dict)
    evidence_cells: dict[tuple[str, int], list[tuple[str, int]]] = field(default_factory=dict)
    histograms: dict[SchoolCell, dict[int, int]] = field(default_factory=dict)
    histogram_basis: dict[SchoolCell, str] = field(default_factory=dict)
    region_histograms: dict[Cell, dict[int, int]] = field(default_factory=dict)
    histogram_source: str = ""
    cuts: dict[Cell, dict[int, int]] = field(default_factory=dict)
    register: dict[SchoolCell, dict] = field(default_factory=dict)
    region_register: dict[Cell, dict] = field(default_factory=dict)
    tasks: dict[SchoolCell, list[dict]] = field(default_factory=dict)
    subject_names: dict[str, str] = field(default_factory=dict)
    checks: list[dict] = field(default_factory=list)            # per check: school-years flagged / computed
    low_results: dict[tuple[str, int], dict] = field(default_factory=dict)   # ШНОР status of the school-year


def relation_exists(cur, name: str) -> bool:
    return cur.execute("select to_regclass(%s) as t", (name,)).fetchone()["t"] is not None


def columns_of(cur, name: str) -> set[str]:
    schema, table = name.split(".")
    rows = cur.execute("select column_name from information_schema.columns where table_schema = %s "
                       "and table_name = %s", (schema, table)).fetchall()
    return {r["column_name"] for r in rows}


def select_list(cur, name: str, wanted: tuple[str, ...]) -> str:
    """The contract's columns; one a mart lacks is read as null (shown «нет данных»), not an error."""
    have = columns_of(cur, name)
    return ", ".join(c if c in have else f"null as {c}" for c in wanted)


def fetch(conn: psycopg.Connection, withheld: list[dict] | None = None) -> Objectivity:
    with conn.cursor(row_factory=dict_row) as cur:
        missing = [m for m in MARTS if not relation_exists(cur, m)]
        closed = [w for w in (withheld or []) if w.get("relation") in MARTS]
        if missing or closed:
            return Objectivity(built=False, missing=missing, withheld=closed)
        data = Objectivity(built=True)
        data.statuses = cur.execute(
            f"select {select_list(cur, MARTS[0], STATUS_COLUMNS)} from marts.mart_objectivity "
            "order by municipality nulls last, school_name, school_id, school_year desc").fetchall()
        data.checks = cur.execute("""
            select check_code, max(check_name) as check_name,
                   count(distinct (school_id, school_year)) as school_years,
                   count(distinct (school_id, school_year)) filter (where status = 'признак') as flagged,
                   count(distinct (school_id, school_year))
                       filter (where status not in ('недостаточно данных', 'нет данных')) as computed
            from marts.mart_objectivity_flags group by check_code
            order by length(check_code), check_code""").fetchall()
        data.shown = [s for s in data.statuses if s["status"] in SIGN_STATUSES or s["federal_listed"]]
        ids = sorted({s["school_id"] for s in data.shown})
        wanted = {(s["school_id"], s["school_year"]) for s in data.shown}
        rows = cur.execute(
            f"select {select_list(cur, MARTS[1], FLAG_COLUMNS)} from marts.mart_objectivity_flags "
            "where school_id = any(%s) order by check_code, subject_code, grade, sub_check", (ids,)).fetchall()
        flags: dict[tuple[str, int], list[dict]] = defaultdict(list)
        for r in rows:
            if (r["school_id"], r["school_year"]) in wanted:
                flags[(r["school_id"], r["school_year"])].append(r)
        data.flags = dict(flags)
        data.evidence_cells = {key: evidence_cells(flags.get(key, [])) for key in wanted}
        data.subject_names = subject_names(cur)
        data.low_results = low_results(cur, ids)
        cells = {(sid, year, subj, grade) for (sid, year), cs in data.evidence_cells.items() for subj, grade in cs}
        if cells:
            fetch_histograms(cur, data, cells)
            fetch_cuts(cur, data, {c[1:] for c in cells})
            fetch_register(cur, data, cells)
            fetch_tasks(cur, data, cells)
        return data


def evidence_cells(rows: list[dict]) -> list[tuple[str, int]]:
    """The ВПР cells whose evidence is drawn: the flagged ones; with school-level signs only, the largest cells."""
    vpr = [r for r in rows if r["procedure_code"] in (None, "vpr")]
    cells = [r for r in vpr if r["subject_code"] not in (None, "all") and r["grade"]]
    size: dict[tuple[str, int], int] = {}
    for r in cells:
        key = (r["subject_code"], r["grade"])
        size[key] = max(size.get(key, 0), r["n_participants"] or 0)
    largest = sorted(size, key=lambda k: (-size[k], k))
    flagged = list(dict.fromkeys((r["subject_code"], r["grade"]) for r in cells if r["status"] == FLAGGED))
    # a sign on a subject as a whole (grade 0): that subject's largest cells
    subjects = {r["subject_code"] for r in vpr if r["status"] == FLAGGED and not r["grade"]}
    flagged += [k for k in largest if k[0] in subjects and k not in flagged]
    if not flagged:
        flagged = largest[:2]
    return flagged[:MAX_EVIDENCE_CELLS]


def low_results(cur, ids: list[str]) -> dict[tuple[str, int], dict]:
    """The ШНОР label of the school-years shown (a candidate with signs is «кандидат, результаты требуют
    подтверждения» there), when mart_low_results exists."""
    name = "marts.mart_low_results"
    if not relation_exists(cur, name) or not {"is_candidate", "status_label"} <= columns_of(cur, name):
        return {}
    rows = cur.execute(f"select school_id, school_year, is_candidate, status_label from {name} "
                       "where school_id = any(%s) and (is_candidate or status_label is not null)", (ids,)).fetchall()
    return {(r["school_id"], r["school_year"]): r for r in rows}


def subject_names(cur) -> dict[str, str]:
    names = {"rus": "Русский язык", "math": "Математика", "all": "все предметы"}
    if relation_exists(cur, "reference.subjects"):
        for r in cur.execute("select distinct subject_code, subject_name from reference.subjects").fetchall():
            names.setdefault(r["subject_code"], r["subject_name"])
    return names


def _cell_arrays(cells) -> tuple[list, list, list, list]:
    ordered = sorted(cells)
    return ([c[0] for c in ordered], [c[1] for c in ordered], [c[2] for c in ordered], [c[3] for c in ordered])


# Pupils per primary score, computed as objpupil's int_score_histograms does when that model is not built: pupil
# rows where the school has them, else the ФИС ОКО distribution (count = round(share × n / 100)).
HISTOGRAM_FALLBACK = """
with pupils as (
    select school_id, school_year, subject_code, grade, primary_score as score, count(*) as n_pupils,
           'individual' as data_basis
    from staging.stg_fis_oko__vpr_results
    where school_id is not null and primary_score is not null
    group by school_id, school_year, subject_code, grade, primary_score
),
reports as (
    select distinct on (school_id, school_year, subject_code, grade)
        source_rank, load_id, source_row, school_id, school_year, subject_code, grade, n_participants
    from staging.stg_fis_oko__vpr_score_distributions
    order by school_id, school_year, subject_code, grade, source_rank, load_id desc
),
points as (
    select 1 as source_rank, load_id, source_row, score, pct from raw_current.vpr_score_stat_points
    union all
    select 2 as source_rank, load_id, source_row, score, pct from raw_current.vpr_flat_score_points
),
aggregated as (
    select r.school_id, r.school_year, r.subject_code, r.grade, p.score,
           round(p.pct * r.n_participants / 100.0)::integer as n_pupils, 'aggregated' as data_basis
    from reports r
    join points p using (source_rank, load_id, source_row)
    where p.score >= 0 and p.pct between 0 and 100 and not exists (
        select 1 from pupils u where u.school_id = r.school_id and u.school_year = r.school_year
            and u.subject_code = r.subject_code and u.grade = r.grade)
)
select * from pupils union all select * from aggregated
"""
HISTOGRAM_MODEL = "intermediate.int_score_histograms"


def histogram_model_query(cur) -> str | None:
    """The model's rows in the contract's shape (n_pupils; a draft named it `pupils`); a distribution flagged as
    not adding up to 100 % (distribution_ok = false) is left out, as O3 leaves it out."""
    have = columns_of(cur, HISTOGRAM_MODEL)
    count = next((c for c in ("n_pupils", "pupils") if c in have), None)
    if count is None or not {"school_id", "school_year", "subject_code", "grade", "score"} <= have:
        return None
    basis = "data_basis" if "data_basis" in have else "null::text"
    where = " where distribution_ok" if "distribution_ok" in have else ""
    return (f"select school_id, school_year, subject_code, grade, score, {count} as n_pupils, {basis} as data_basis "
            f"from {HISTOGRAM_MODEL}{where}")


def histogram_sources(cur) -> tuple[str | None, str]:
    if relation_exists(cur, HISTOGRAM_MODEL) and (query := histogram_model_query(cur)) is not None:
        return query, HISTOGRAM_MODEL
    needed = ("staging.stg_fis_oko__vpr_results", "staging.stg_fis_oko__vpr_score_distributions",
              "raw_current.vpr_score_stat_points", "raw_current.vpr_flat_score_points")
    if all(relation_exists(cur, n) for n in needed):
        return HISTOGRAM_FALLBACK, "staging.stg_fis_oko__vpr_results + stg_fis_oko__vpr_score_distributions"
    return None, ""


def fetch_histograms(cur, data: Objectivity, cells: set[SchoolCell]) -> None:
    query, data.histogram_source = histogram_sources(cur)
    if query is None:
        return
    ids, years, subjects, grades = _cell_arrays(cells)
    rows = cur.execute(f"""
        with hist as ({query}),
        wanted as (select * from unnest(%s::text[], %s::int[], %s::text[], %s::int[])
                   as w(school_id, school_year, subject_code, grade)),
        region_cells as (select distinct school_year, subject_code, grade from wanted)
        select 'school' as level, h.school_id, h.school_year, h.subject_code, h.grade, h.score,
               sum(h.n_pupils)::bigint as n_pupils, max(h.data_basis) as data_basis
        from hist h join wanted using (school_id, school_year, subject_code, grade)
        group by h.school_id, h.school_year, h.subject_code, h.grade, h.score
        union all
        select 'region', null, h.school_year, h.subject_code, h.grade, h.score, sum(h.n_pupils)::bigint, null
        from hist h join region_cells using (school_year, subject_code, grade)
        group by h.school_year, h.subject_code, h.grade, h.score
    """, (ids, years, subjects, grades)).fetchall()
    for r in rows:
        if r["score"] is None or r["n_pupils"] is None:
            continue
        if r["level"] == "school":
            key = (r["school_id"], r["school_year"], r["subject_code"], r["grade"])
            data.histograms.setdefault(key, {})[int(r["score"])] = int(r["n_pupils"])
            data.histogram_basis[key] = r["data_basis"]
        else:
            key = (r["school_year"], r["subject_code"], r["grade"])
            data.region_histograms.setdefault(key, {})[int(r["score"])] = int(r["n_pupils"])


def fetch_cuts(cur, data: Objectivity, cells: set[Cell]) -> None:
    """The least primary score of «3», «4», «5» in force in each school year (reference.vpr_mark_scales)."""
    if not relation_exists(cur, "reference.vpr_mark_scales"):
        return
    years, subjects, grades = ([c[i] for c in sorted(cells)] for i in range(3))
    rows = cur.execute("""
        select w.school_year, w.subject_code, w.grade, s.mark, s.min_primary_score
        from unnest(%s::int[], %s::text[], %s::int[]) as w(school_year, subject_code, grade)
        join reference.vpr_mark_scales s
          on s.subject_code = w.subject_code and s.grade = w.grade
         and w.school_year between s.valid_from and coalesce(s.valid_to, 9999)
        where s.mark >= 3
    """, (years, subjects, grades)).fetchall()
    for r in rows:
        data.cuts.setdefault((r["school_year"], r["subject_code"], r["grade"]), {})[r["mark"]] = r["min_primary_score"]


REGISTER_COLUMNS = "n_total, n_lowered, n_confirmed, n_raised, pct_lowered, pct_confirmed, pct_raised"


def fetch_register(cur, data: Objectivity, cells: set[SchoolCell]) -> None:
    """ВПР mark against the register mark: the school's row and the region's row of the ФИС ОКО report (the sum of
    the region's schools when the report has no region row)."""
    name = "staging.stg_fis_oko__vpr_journal_stats"
    if not relation_exists(cur, name):
        return
    ids, years, subjects, grades = _cell_arrays(cells)
    rows = cur.execute(f"""
        with wanted as (select * from unnest(%s::text[], %s::int[], %s::text[], %s::int[])
                        as w(school_id, school_year, subject_code, grade))
        select 'school' as level, j.school_id, j.school_year, j.subject_code, j.grade, {REGISTER_COLUMNS}
        from {name} j join wanted using (school_id, school_year, subject_code, grade)
        where j.org_level = 'school'
        union all
        select 'region', null, j.school_year, j.subject_code, j.grade, {REGISTER_COLUMNS}
        from {name} j where j.org_level = 'region'
          and (j.school_year, j.subject_code, j.grade) in (select school_year, subject_code, grade from wanted)
        union all
        select 'region_sum', null, j.school_year, j.subject_code, j.grade, sum(n_total), sum(n_lowered),
               sum(n_confirmed), sum(n_raised), null, null, null
        from {name} j where j.org_level = 'school'
          and (j.school_year, j.subject_code, j.grade) in (select school_year, subject_code, grade from wanted)
        group by j.school_year, j.subject_code, j.grade
    """, (ids, years, subjects, grades)).fetchall()
    sums = {}
    for r in rows:
        shares = register_shares(r)
        if r["level"] == "school":
            data.register[(r["school_id"], r["school_year"], r["subject_code"], r["grade"])] = shares
        elif r["level"] == "region":
            data.region_register.setdefault((r["school_year"], r["subject_code"], r["grade"]), shares)
        else:
            sums[(r["school_year"], r["subject_code"], r["grade"])] = {**shares, "computed": True}
    for key, shares in sums.items():
        data.region_register.setdefault(key, shares)


def register_shares(r: dict) -> dict:
    """Shares in % of the three groups: as the report gives them, else from the counts; unknown stays None."""
    n = r["n_total"]
    out = {"n_total": n}
    for group in ("lowered", "confirmed", "raised"):
        pct, count = r.get(f"pct_{group}"), r.get(f"n_{group}")
        if pct is None and count is not None and n:
            pct = 100.0 * count / n
        out[group] = None if pct is None else float(pct)
        out[f"n_{group}"] = count
    return out


def fetch_tasks(cur, data: Objectivity, cells: set[SchoolCell]) -> None:
    if not relation_exists(cur, "intermediate.int_task_results"):
        return
    ids, years, subjects, grades = _cell_arrays(cells)
    rows = cur.execute("""
        with wanted as (select * from unnest(%s::text[], %s::int[], %s::text[], %s::int[])
                        as w(school_id, school_year, subject_code, grade))
        select t.school_id, t.school_year, t.subject_code, t.grade, t.task_code, t.difficulty, t.task_max_points,
               t.result_source, t.n_participants, t.mean_pct_of_max, t.region_pct_of_max
        from intermediate.int_task_results t join wanted using (school_id, school_year, subject_code, grade)
        where t.procedure_code = 'vpr'
    """, (ids, years, subjects, grades)).fetchall()
    tasks: dict[SchoolCell, list[dict]] = defaultdict(list)
    for r in rows:
        tasks[(r["school_id"], r["school_year"], r["subject_code"], r["grade"])].append(r)
    data.tasks = {k: sorted(v, key=lambda t: task_sort_key(t["task_code"])) for k, v in tasks.items()}


def task_sort_key(code: str | None) -> tuple:
    """1, 2, 3К1, 3К2, 10 — by the task number, then the criterion."""
    parts = re.findall(r"\d+|\D+", code or "")
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


DIFFICULTY = {"Б": "базовый", "П": "повышенный", "В": "высокий"}


def difficulty_profile(tasks: list[dict]) -> list[dict]:
    """Completion by difficulty level, school against region, weighted by the tasks' maximum points (as O2)."""
    out = []
    for level, label in DIFFICULTY.items():
        rows = [t for t in tasks if t["difficulty"] == level and t["mean_pct_of_max"] is not None
                and t["region_pct_of_max"] is not None]
        weight = sum(float(t["task_max_points"] or 1) for t in rows)
        if not rows or not weight:
            out.append({"level": level, "label": label, "tasks": len(rows), "school": None, "region": None,
                        "gap": None})
            continue
        school = sum(float(t["task_max_points"] or 1) * float(t["mean_pct_of_max"]) for t in rows) / weight
        region = sum(float(t["task_max_points"] or 1) * float(t["region_pct_of_max"]) for t in rows) / weight
        out.append({"level": level, "label": label, "tasks": len(rows), "school": school, "region": region,
                    "gap": school - region})
    return out
