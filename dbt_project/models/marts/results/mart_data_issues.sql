-- Rows of the loaded feeds that the marts cannot use as they are, each with the school (where known), the
-- file row and a Russian reason: rows without the school, year, subject or grade that place them (left
-- out of every mart by staging), report cells that do not add up (kept in mart_school_results, flagged),
-- counts above their base, scores outside their scale. The loaders should have caught them (issue 7,
-- point 2); this list is what slipped through, so that nothing is lost without a word.
with schools as (
    select * from {{ ref('dim_school') }}
),

subjects as (
    select source_name from {{ ref('subjects') }}
),

gia_subjects as (
    select
        exam,
        gia_subject_code
    from {{ ref('gia_subjects') }}
),

levels as (
    select level_code from {{ ref('kdr_levels') }}
),

results as (
    select * from {{ ref('int_school_results') }}
),

enrolment as (
    select
        school_id,
        year as school_year,
        sum(enrolled) as enrolled
    from {{ source('raw', 'performance') }}
    where school_id is not null and year is not null
    group by school_id, year
),

issues as (
    -- rows that cannot be placed: no school, year, subject of the dictionary or grade
    {% for feed, relation, year, extra in [
        ('vpr_results', source('raw', 'vpr_results'), 'year',
            "when r.subject is null or r.subject not in (select s.source_name from subjects as s) "
            ~ "then 'unknown_subject' when r.grade is null then 'no_grade' "
            ~ "when r.primary_score < 0 or r.primary_score > r.max_primary_score or r.max_primary_score <= 0 "
            ~ "then 'score_out_of_range'"),
        ('vpr_mark_stats', source('raw', 'vpr_mark_stats'), 'year',
            "when r.subject is null or r.subject not in (select s.source_name from subjects as s) "
            ~ "then 'unknown_subject' when r.grade is null then 'no_grade'"),
        ('vpr_flat_marks', source('raw', 'vpr_flat_marks'), 'year',
            "when r.subject is null or r.subject not in (select s.source_name from subjects as s) "
            ~ "then 'unknown_subject' when r.grade is null then 'no_grade'"),
        ('vpr_flat_scores', source('raw', 'vpr_flat_scores'), 'year',
            "when r.subject is null or r.subject not in (select s.source_name from subjects as s) "
            ~ "then 'unknown_subject' when r.grade is null then 'no_grade'"),
        ('gia_results', source('raw', 'gia_results'), 'year',
            "when not exists (select 1 from gia_subjects as g where g.exam = r.exam "
            ~ "and g.gia_subject_code = r.subject_code) then 'unknown_subject' "
            ~ "when r.test_score < 0 or r.test_score > 100 or r.primary_score < 0 then 'score_out_of_range'"),
        ('kdr_results', source('raw', 'kdr_results'), 'year',
            "when r.grade is null or r.work is null then 'no_grade' "
            ~ "when r.level_code is not null and r.level_code not in (select l.level_code from levels as l) "
            ~ "then 'unknown_level' when r.pct_of_max < 0 or r.pct_of_max > 100 then 'score_out_of_range'"),
        ('social_passport', source('raw', 'social_passport'), 'school_year',
            "when least(r.pct_low_income, r.pct_disability, r.pct_non_native_russian, r.pct_prevention_register, "
            ~ "r.pct_single_parent, r.pct_no_higher_education, r.pct_unemployed_parents) < 0 "
            ~ "or greatest(r.pct_low_income, r.pct_disability, r.pct_non_native_russian, r.pct_prevention_register, "
            ~ "r.pct_single_parent, r.pct_no_higher_education, r.pct_unemployed_parents) > 100 then 'share_out_of_range'"),
        ('performance', source('raw', 'performance'), 'year',
            "when greatest(r.failing, r.only_4_5, r.repeaters) > r.enrolled then 'count_above_n'"),
        ('olympiads', source('raw', 'olympiads'), 'year',
            "when r.winners + r.prize_winners > r.participants then 'count_above_n'"),
        ('individual_routes', source('raw', 'individual_routes'), 'year',
            "when r.pupils > (select e.enrolled from enrolment as e where e.school_id = r.school_id "
            ~ "and e.school_year = r.year) then 'count_above_n'"),
        ('teachers', source('raw', 'teachers'), 'year', ''),
        ('vacancies', source('raw', 'vacancies'), 'year', ''),
        ('shnor_list', source('raw', 'shnor_list'), 'year', ''),
        ('improvement_programmes', source('raw', 'improvement_programmes'), 'year', ''),
    ] %}
    select
        '{{ feed }}' as feed,
        r.load_id,
        r.source_row,
        r.school_id,
        r.{{ year }}::integer as school_year,
        case
            when r.school_id is null then 'no_school'
            when r.{{ year }} is null then 'no_year'
            when not exists (
                select 1 from schools as s
                where s.school_id = r.school_id
            ) then 'unknown_school'
            {{ extra }}
        end as issue_code,
        null::text as detail
    from {{ relation }} as r
    {% if feed == 'vpr_mark_stats' %}
    -- the report's country, region and municipality rows name no school, rightly
    where r.org_level = 'school'
    {% endif %}
    {{ "union all" if not loop.last }}
    {% endfor %}
    union all
    select
        'school_registry' as feed,
        r.load_id,
        r.source_row,
        r.registry_code as school_id,
        null::integer as school_year,
        case
            when r.registry_code is null then 'no_school'
            when r.municipality is null then 'no_municipality'
        end as issue_code,
        null::text as detail
    from {{ source('raw', 'school_registry') }} as r
    union all
    -- report cells that do not add up: kept in mart_school_results with is_inconsistent
    select
        'vpr_reports' as feed,
        null::bigint as load_id,
        null::integer as source_row,
        results.school_id,
        results.school_year,
        'inconsistent_shares' as issue_code,
        results.procedure_code || ', ' || results.subject_code || ', ' || results.grade || ' класс: '
        || results.data_issue as detail
    from results
    where not results.is_consistent and results.data_issue like 'несогласованная%'
),

described as (
    select
        issues.*,
        case issues.issue_code
            when 'no_school' then 'не указана ОО (код не сопоставлен с реестром): строка не попадает в витрины'
            when 'no_year' then 'не указан год: строка не попадает в витрины'
            when 'unknown_subject' then 'предмет не из справочника: строка не попадает в витрины'
            when 'no_grade' then 'не указан класс или работа: строка не попадает в витрины'
            when 'unknown_level' then 'уровень КДР не из справочника: строка не считается в долях уровней'
            when 'score_out_of_range' then 'балл вне шкалы (выше максимума или меньше 0): балл не используется'
            when 'share_out_of_range' then 'доля вне 0–100 %: строка без смысла'
            when 'count_above_n' then 'число больше базы (например, неуспевающих больше обучающихся): строка без смысла'
            when 'no_municipality' then 'у ОО в реестре не указан муниципалитет'
            when 'inconsistent_shares' then 'доли отметок не согласованы: ячейка отмечена в mart_school_results'
            when 'unknown_school' then 'ОО нет в реестре: строка не связана со справочником школ'
        end as issue
    from issues
    where issues.issue_code is not null
)

select
    described.feed::text as feed,
    described.load_id::bigint as load_id,
    described.source_row::integer as source_row,
    described.school_id::text as school_id,
    schools.school_name::text as school_name,
    schools.municipality::text as municipality,
    described.school_year::integer as school_year,
    described.issue_code::text as issue_code,
    (described.issue || coalesce(' (' || described.detail || ')', ''))::text as issue
from described
left join schools on described.school_id = schools.school_id
