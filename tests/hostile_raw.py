"""A raw schema full of values no loader should let through, and some it rightly does: the dbt build must
survive them all (issue 7, point 4). Used by tests/test_dbt_hostile.py; rows are inserted directly.

Schools (registry codes 24H…):
- H_BIG: thousands of pupils (ВПР math 4, two years); H_ONE: one pupil beside it;
- H_ZERO: a report row with n = 0 (shares given); H_MILLION: a report row with n = 10⁶;
- H_102: report shares adding up to 102 %; H_DROP: n = 252 then n = 6;
- H_ZERO_SHARES / H_FULL_SHARES: every «2» (100 %) and none (0 %);
- H_NULL: every nullable column NULL in every feed; H_OVER: counts above n (performance, ВсОШ);
- H_LONE: the only school of its municipality, with one procedure only;
- H_FLAT / H_BOTH: a school only in the regional flat extract, and one in both the extract and the report.
ЕГЭ has two years far apart (2009 and 2026: no previous year for either); a pupil row has a primary score
above the maximum, one a maximum of 0, one task string letters and points above the maximum.
"""

from __future__ import annotations

BIG_TOWN = "г. Тестовск"
LONE_TOWN = "Одиночный муниципальный район"

SCHOOLS = {
    "H_BIG": ("24H00001", BIG_TOWN, "СОШ", 3000),
    "H_ONE": ("24H00002", BIG_TOWN, "НОШ", 1),
    "H_ZERO": ("24H00003", BIG_TOWN, "СОШ", 0),
    "H_MILLION": ("24H00004", BIG_TOWN, "СОШ", 1_000_000),
    "H_102": ("24H00005", BIG_TOWN, "СОШ", 300),
    "H_DROP": ("24H00006", BIG_TOWN, "СОШ", 252),
    "H_ZERO_SHARES": ("24H00007", BIG_TOWN, "СОШ", 40),
    "H_FULL_SHARES": ("24H00008", BIG_TOWN, "ООШ", 40),
    "H_NULL": ("24H00009", None, None, None),
    "H_OVER": ("24H00010", BIG_TOWN, "СОШ", 30),
    "H_LONE": ("24H00011", LONE_TOWN, "СОШ", 12),
    "H_FLAT": ("24H00012", BIG_TOWN, "СОШ", 60),
    "H_BOTH": ("24H00013", BIG_TOWN, "СОШ", 80),
}


def code(name: str) -> str:
    return SCHOOLS[name][0]


def _ledger(feed: str, load_id: int) -> str:
    return f"""
insert into raw.file_ledger (file_id, feed, file_name, file_path, sha256, size_bytes, arrived_at, registered_at)
values ({load_id}, '{feed}', '{feed}.xlsx', '/landing/{feed}.xlsx', md5('{feed}'), 1, now(), now());
insert into raw.load_ledger (load_id, file_id, feed, status, started_at, finished_at, rows_read, rows_loaded)
values ({load_id}, {load_id}, '{feed}', 'loaded', now(), now(), 1, 1);
"""


FEEDS = ("registry", "vpr_results", "vpr_mark_stats", "vpr_flat_marks", "vpr_flat_scores", "gia", "kdr",
         "social_passport", "performance", "teachers", "olympiads", "shnor_list", "individual_routes",
         "improvement_programmes", "support_events", "vacancies")
LOAD = {feed: i + 1 for i, feed in enumerate(FEEDS)}


def _registry() -> str:
    rows = []
    for i, (registry_code, municipality, school_type, enrolment) in enumerate(SCHOOLS.values(), start=1):
        values = [f"'{registry_code}'", f"'edu9{i:05d}'", f"'9{i:05d}'"]
        if municipality is None:  # everything nullable missing
            values += ["null"] * 9
        else:
            values += [f"'Школа {registry_code}'", f"'Ш {registry_code}'", f"'{municipality}'", f"'{school_type}'",
                       "'rural'" if municipality == LONE_TOWN else "'urban'", "0" if i % 2 else "null",
                       "true" if enrolment is not None and enrolment < 50 else "false",
                       str(enrolment) if enrolment is not None else "null", "'действующая'"]
        rows.append(f"({LOAD['registry']}, {i}, {', '.join(values)}, null)")
    return ("insert into raw.school_registry (load_id, source_row, registry_code, fis_login, rcoi_code, full_name, "
            "short_name, municipality, school_type, locality, distance_km, small_school, enrolment, status, "
            "head_school_code) values\n" + ",\n".join(rows) + ";\n")


def _vpr_pupils() -> str:
    """Pupil rows: the big school (3000 a year, math 4, 2025 and 2026), the one-pupil school, hostile rows."""
    load = LOAD["vpr_results"]
    big, one, null_school = code("H_BIG"), code("H_ONE"), code("H_NULL")
    return f"""
insert into raw.vpr_results (load_id, source_row, school_code, participant_id, class_label, variant, primary_score,
    mark, journal_mark, year, subject, grade, max_primary_score, season, school_id)
select {load}, y * 10000 + i, 'x', md5('big' || y || i), '4А', 1, (i * 7) % 21, 2 + (i % 4), 2 + (i % 4), y,
    'Математика', 4, 20, 'spring', '{big}'
from generate_series(2025, 2026) as y, generate_series(1, 3000) as i;
insert into raw.vpr_results (load_id, source_row, school_code, participant_id, class_label, variant, primary_score,
    mark, journal_mark, year, subject, grade, max_primary_score, season, school_id)
values
    ({load}, 1, 'x', md5('one-2025'), '4А', 1, 3, 2, 3, 2025, 'Математика', 4, 20, 'spring', '{one}'),
    ({load}, 2, 'x', md5('one-2026'), '4А', 1, 19, 5, 5, 2026, 'Математика', 4, 20, 'spring', '{one}'),
    -- a primary score above the maximum, and a maximum of 0
    ({load}, 3, 'x', md5('over-max'), '4Б', 1, 25, 5, 5, 2026, 'Математика', 4, 20, 'spring', '{one}'),
    ({load}, 4, 'x', md5('zero-max'), '4Б', 1, 0, 2, null, 2026, 'Математика', 4, 0, 'spring', '{one}'),
    -- everything nullable missing
    ({load}, 5, null, null, null, null, null, null, null, null, null, null, null, null, null),
    ({load}, 6, null, null, null, null, null, 3, null, 2026, null, null, null, null, '{null_school}'),
    ({load}, 7, null, md5('no-school'), null, null, 5, 4, null, 2026, 'Математика', 4, 20, 'spring', null);
"""


def _mark_row(load: int, row: int, school: str | None, year, grade, subject, n, shares) -> str:
    def sql(v):
        return "null" if v is None else (f"'{v}'" if isinstance(v, str) else str(v))
    pct = ", ".join(sql(v) for v in shares)
    return (f"({load}, {row}, {sql('Ш ' + school if school else None)}, {sql(n)}, {pct}, {sql(year)}, "
            f"{sql(subject)}, {sql(grade)}, 'school', {sql(school)}, {sql(school)}, {sql(school)})")


def _vpr_reports() -> str:
    """«Статистика по отметкам» (school rows) and the same shape in the regional flat extract."""
    load = LOAD["vpr_mark_stats"]
    rus, math = "Русский язык", "Математика"
    rows = [
        _mark_row(load, 1, code("H_ZERO"), 2025, 5, rus, 0, (10, 40, 40, 10)),
        _mark_row(load, 2, code("H_ZERO"), 2026, 5, rus, 0, (0, 0, 0, 0)),
        _mark_row(load, 3, code("H_MILLION"), 2025, 5, rus, 1_000_000, (10.5, 40, 39.5, 10)),
        _mark_row(load, 4, code("H_MILLION"), 2026, 5, rus, 1_000_000, (10.4, 40, 39.6, 10)),
        _mark_row(load, 5, code("H_102"), 2025, 5, rus, 300, (20, 40, 30, 10)),
        _mark_row(load, 6, code("H_102"), 2026, 5, rus, 300, (22, 40, 30, 10)),  # 102 %
        _mark_row(load, 7, code("H_DROP"), 2025, 5, rus, 252, (15.08, 40.08, 34.92, 9.92)),
        _mark_row(load, 8, code("H_DROP"), 2026, 5, rus, 6, (50, 33.33, 16.67, 0)),
        _mark_row(load, 9, code("H_ZERO_SHARES"), 2025, 5, rus, 40, (0, 0, 0, 100)),
        _mark_row(load, 10, code("H_ZERO_SHARES"), 2026, 5, rus, 40, (0, 0, 0, 100)),
        _mark_row(load, 11, code("H_FULL_SHARES"), 2025, 5, rus, 40, (100, 0, 0, 0)),
        _mark_row(load, 12, code("H_FULL_SHARES"), 2026, 5, rus, 40, (100, 0, 0, 0)),
        _mark_row(load, 13, code("H_NULL"), None, None, None, None, (None, None, None, None)),
        _mark_row(load, 14, code("H_NULL"), 2026, 5, rus, None, (None, None, None, None)),
        _mark_row(load, 15, code("H_OVER"), 2026, 5, rus, 30, (150, -50, 0, 0)),  # a share above 100 %
        _mark_row(load, 16, code("H_LONE"), 2026, 5, rus, 12, (25, 25, 25, 25)),
        _mark_row(load, 17, code("H_BOTH"), 2026, 5, rus, 80, (10, 40, 40, 10)),
        _mark_row(load, 18, code("H_BIG"), 2026, 5, math, 1, (100, 0, 0, 0)),
        _mark_row(load, 19, "24X99999", 2026, 5, math, 20, (10, 40, 40, 10)),  # a school not in the registry
    ]
    # the region's own row: no school, rightly
    rows.append(f"({load}, 20, 'Регион', 2000, 10, 40, 40, 10, 2026, '{rus}', 5, 'region', 'region:р', null, null)")
    marks = ("insert into raw.vpr_mark_stats (load_id, source_row, org_name, n_participants, pct_2, pct_3, pct_4, "
             "pct_5, year, subject, grade, org_level, org_key, school_code, school_id) values\n"
             + ",\n".join(rows) + ";\n")
    flat = LOAD["vpr_flat_marks"]
    flat_rows = [
        (1, code("H_FLAT"), 2025, 5, rus, 60, (10, 40, 40, 10)),
        (2, code("H_FLAT"), 2026, 5, rus, 60, (5, 45, 40, 10)),
        # the same school × year × subject × grade as the report: the report wins (another n here)
        (3, code("H_BOTH"), 2026, 5, rus, 81, (20, 30, 40, 10)),
        (4, code("H_NULL"), 2026, 5, rus, None, (None, None, None, None)),
        (5, code("H_FLAT"), 2026, 5, math, 60, (30, 30, 30, 12)),  # 102 %
        (6, code("H_BIG"), 2026, 4, math, 2999, (50, 50, 0, 0)),  # pupil rows exist: the pupils win
    ]
    flat_marks = ("insert into raw.vpr_flat_marks (load_id, source_row, year, grade, subject, municipality, "
                  "school_name, school_code, n_participants, pct_2, pct_3, pct_4, pct_5, school_id) values\n"
                  + ",\n".join(
                      f"({flat}, {r}, {y}, {g}, '{s}', '{BIG_TOWN}', 'Ш', 'x', {'null' if n is None else n}, "
                      + ", ".join("null" if v is None else str(v) for v in pct) + f", '{school}')"
                      for r, school, y, g, s, n, pct in flat_rows) + ";\n")
    scores = LOAD["vpr_flat_scores"]
    flat_scores = f"""
insert into raw.vpr_flat_scores (load_id, source_row, year, grade, subject, school_code, n_participants, school_id)
values ({scores}, 1, 2026, 5, 'Русский язык', 'x', 60, '{code("H_FLAT")}'),
       ({scores}, 2, 2026, 5, 'Русский язык', 'x', 0, '{code("H_ZERO")}'),
       ({scores}, 3, null, null, null, null, null, null);
insert into raw.vpr_flat_score_points (load_id, source_row, score, pct)
select {scores}, 1, s, case when s between 10 and 19 then 10 else 0 end from generate_series(0, 20) as s;
insert into raw.vpr_flat_score_points (load_id, source_row, score, pct)
select {scores}, 2, s, 0 from generate_series(0, 20) as s;
insert into raw.vpr_flat_score_points (load_id, source_row, score, pct) values ({scores}, 3, null, null);
"""
    return marks + flat_marks + flat_scores


def _gia_kdr() -> str:
    gia, kdr = LOAD["gia"], LOAD["kdr"]
    big, one, lone, million = code("H_BIG"), code("H_ONE"), code("H_LONE"), code("H_MILLION")
    return f"""
-- ЕГЭ in 2026 and 2009 only; a test score of 0 and of 100; OGE for the lone school only
insert into raw.gia_results (load_id, source_row, exam, subject_code, subject, exam_date, period, school_code,
    participant_id, primary_score, test_score, mark, passed_minimum, year, school_id)
select {gia}, i, 'EGE', 1, 'Русский язык', date '2026-06-01', 'main', 'x', md5('ege' || i), i % 50,
    case when i % 3 = 0 then 0 else 100 end, null, i % 3 <> 0, 2026, '{big}'
from generate_series(1, 40) as i;
insert into raw.gia_results (load_id, source_row, exam, subject_code, subject, exam_date, period, school_code,
    participant_id, primary_score, test_score, mark, passed_minimum, year, school_id)
select {gia}, (y - 2000) * 100 + i, 'OGE', 2, 'Математика', make_date(y, 6, 1), 'main', 'x', md5('oge' || y || i),
    i, null, 2 + i % 4, true, y, '{lone}'
from generate_series(2025, 2026) as y, generate_series(1, 12) as i;
insert into raw.gia_results (load_id, source_row, exam, subject_code, subject, exam_date, period, school_code,
    participant_id, primary_score, test_score, mark, passed_minimum, year, school_id)
values ({gia}, 9900, null, null, null, null, null, null, null, null, null, null, null, null, null),
       ({gia}, 9901, 'OGE', 99, 'Неизвестный', null, null, 'x', md5('gia-one'), 500, null, 5, null, 2026, '{one}');
-- task strings that no loader should pass: letters among the short answers, points above the maximum, a huge number
insert into raw.gia_results (load_id, source_row, exam, subject_code, subject, exam_date, period, school_code,
    participant_id, short_answers, long_answers, primary_score, test_score, mark, passed_minimum, year, school_id)
values ({gia}, 9902, 'OGE', 2, 'Математика', date '2026-06-01', 'main', 'x', md5('gia-tasks'), 'аб+-7',
        '9(2)99999999999(3)', 10, null, 3, true, 2026, '{lone}');
-- ЕГЭ history: 2009 (the first year of ЕГЭ everywhere), not followed by 2010
insert into raw.gia_results (load_id, source_row, exam, subject_code, subject, exam_date, period, school_code,
    participant_id, primary_score, test_score, mark, passed_minimum, year, school_id)
select {gia}, 9910 + i, 'EGE', 1, 'Русский язык', date '2009-06-01', 'main', 'x', md5('ege2009' || i), 30, 60, null,
    true, 2009, '{million}'
from generate_series(1, 6) as i;
insert into raw.kdr_results (load_id, source_row, school_code, participant_id, primary_score, pct_of_max,
    level_code, work, grade, year, school_id)
select {kdr}, i, 'x', md5('kdr' || i), 10, case when i = 1 then 0 else 100 end, case when i = 1 then 'L0' else 'L3' end,
    'kdr4_rl', 4, 2026, '{big}'
from generate_series(1, 10) as i;
insert into raw.kdr_results (load_id, source_row, school_code, participant_id, primary_score, pct_of_max,
    level_code, work, grade, year, school_id)
values ({kdr}, 100, null, null, null, null, null, null, null, null, null),
       ({kdr}, 101, 'x', md5('kdr-one'), 5, 250, 'L9', 'kdr4_rl', 4, 2026, '{one}');
"""


def _municipal() -> str:
    """Context and municipal feeds: zero, NULL and impossible values."""
    big, one, over, null_school, lone = code("H_BIG"), code("H_ONE"), code("H_OVER"), code("H_NULL"), code("H_LONE")
    drop = code("H_DROP")
    passport = ", ".join(["0"] * 7)
    hundred = ", ".join(["100"] * 7)
    return f"""
insert into raw.social_passport (load_id, source_row, school_year, school_code, school_name, enrolment,
    pct_low_income, pct_disability, pct_non_native_russian, pct_prevention_register, pct_single_parent,
    pct_no_higher_education, pct_unemployed_parents, school_id)
values ({LOAD['social_passport']}, 1, 2026, 'x', 'Ш', 3000, {passport}, '{big}'),
       ({LOAD['social_passport']}, 2, 2026, 'x', 'Ш', 1, {hundred}, '{one}'),
       ({LOAD['social_passport']}, 3, 2026, 'x', 'Ш', 0, 150, -5, 0, 0, 0, 0, 0, '{over}'),
       ({LOAD['social_passport']}, 4, 2026, null, null, null, null, null, null, null, null, null, null,
        '{null_school}'),
       ({LOAD['social_passport']}, 5, 2026, 'x', 'Ш', 12, {passport}, '{lone}'),
       ({LOAD['social_passport']}, 6, null, null, null, null, null, null, null, null, null, null, null, null);
insert into raw.performance (load_id, source_row, year, school_code, grade, period, enrolled, failing, only_4_5,
    repeaters, lessons_missed, lessons_missed_unexcused, school_id)
values ({LOAD['performance']}, 1, 2026, 'x', 5, 'Год', 3000, 0, 3000, 0, 1000000, 0, '{big}'),
       ({LOAD['performance']}, 2, 2026, 'x', 5, 'Год', 1, 1, 0, 1, 1000000, 1000000, '{one}'),
       -- counts above n
       ({LOAD['performance']}, 3, 2026, 'x', 5, 'Год', 30, 45, 40, 50, 10, 20, '{over}'),
       ({LOAD['performance']}, 4, 2026, 'x', 5, 'Год', 0, 0, 0, 0, 0, 0, '{drop}'),
       ({LOAD['performance']}, 5, null, null, null, null, null, null, null, null, null, null, '{null_school}'),
       ({LOAD['performance']}, 6, 2026, 'x', 5, 'неведомый период', 10, 1, 1, 0, 1, 0, '{lone}');
insert into raw.teachers (load_id, source_row, year, school_code, teacher_id, subject, age_band, qualification,
    outside_speciality, gap_diagnostic_done, gaps_found, trained_3y, quality_course, support_municipal,
    support_regional, has_mentor, mentor_of, school_id)
values ({LOAD['teachers']}, 1, 2026, 'x', md5('t1'), 'математика', '30–39', 'first', false, true, true, true, true,
        true, true, true, null, '{big}'),
       ({LOAD['teachers']}, 2, 2026, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, '{null_school}'),
       ({LOAD['teachers']}, 3, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null);
insert into raw.olympiads (load_id, source_row, year, school_code, subject, stage, participants, winners,
    prize_winners, school_id)
values ({LOAD['olympiads']}, 1, 2026, 'x', 'математика', 'school', 0, 0, 0, '{big}'),
       ({LOAD['olympiads']}, 2, 2026, 'x', 'математика', 'school', 3, 5, 4, '{over}'),
       ({LOAD['olympiads']}, 3, null, null, null, null, null, null, null, '{null_school}');
insert into raw.shnor_list (load_id, source_row, year, source, school_code, school_name, municipality, school_id)
values ({LOAD['shnor_list']}, 1, 2026, 'coko', 'x', 'Ш', '{BIG_TOWN}', '{one}'),
       ({LOAD['shnor_list']}, 2, 2026, 'coko', 'x', 'Ш', '{LONE_TOWN}', '{lone}'),
       ({LOAD['shnor_list']}, 3, null, null, null, null, null, null);
insert into raw.individual_routes (load_id, source_row, year, school_code, pupils, school_id)
values ({LOAD['individual_routes']}, 1, 2026, 'x', 5000, '{one}'),
       ({LOAD['individual_routes']}, 2, null, null, null, '{null_school}');
insert into raw.improvement_programmes (load_id, source_row, year, school_code, programme_written, external_review,
    road_map, school_id)
values ({LOAD['improvement_programmes']}, 1, 2026, 'x', true, null, null, '{one}'),
       ({LOAD['improvement_programmes']}, 2, null, null, null, null, null, null);
insert into raw.support_events (load_id, source_row, event_date, level, event_kind, topic, school_codes, participants,
    source_file)
values ({LOAD['support_events']}, 1, date '2026-02-01', 'regional', 'семинар', 'Т', 'x', 0, 'план.xlsx'),
       ({LOAD['support_events']}, 2, null, null, null, null, null, null, null);
insert into raw.support_event_schools (load_id, source_row, school_code, school_id)
values ({LOAD['support_events']}, 1, 'x', '{one}'), ({LOAD['support_events']}, 2, null, null);
insert into raw.vacancies (load_id, source_row, year, school_code, subject, vacancies, school_id)
values ({LOAD['vacancies']}, 1, 2026, 'x', 'математика', 0, '{big}'),
       ({LOAD['vacancies']}, 2, null, null, null, null, '{null_school}');
"""


def hostile_sql() -> str:
    return ("".join(_ledger(feed, load) for feed, load in LOAD.items())
            + _registry() + _vpr_pupils() + _vpr_reports() + _gia_kdr() + _municipal())
