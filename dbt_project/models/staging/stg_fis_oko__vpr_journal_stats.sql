-- ВПР «Сравнение отметок с отметками по журналу» (ФИС ОКО «Аналитика»): per organisation the participants whose
-- ВПР mark is below (Понизили), equal to (Подтвердили) or above (Повысили) their mark in the class register, and
-- «Всего». One row per organisation × year × subject × grade. The report gives a count and a percent per group
-- (the wide export gives «Всего» as a count only): counts and shares are read as given; a group without its count
-- gets round(pct × total / 100) (is_count_derived), a group without its percent 100 × count / total, and a block
-- without «Всего» the sum of its three groups. An organisation given in several loads takes the latest load.
-- The report has no season: the year of its title is the school year, as in stg_fis_oko__vpr_mark_stats.
with source as (
    select * from {{ source('raw', 'vpr_journal_stats') }}
),

subjects as (
    select * from {{ ref('subjects') }}
),

blocks as (
    -- the rows of one organisation in one load: four file rows in the long form, one in the wide form
    select
        source.load_id,
        min(source.source_row) as source_row,
        source.org_level,
        source.org_key,
        -- the registry code of a school; other levels are keyed by the report's organisation key
        coalesce(source.school_id, source.org_key) as org_id,
        source.org_name,
        source.school_id,
        source.year as school_year,
        subjects.subject_code,
        source.grade,
        max(source.n_participants) filter (where source.comparison_group = 'total') as total_count,
        max(source.n_participants) filter (where source.comparison_group = 'lowered') as lowered_count,
        max(source.n_participants) filter (where source.comparison_group = 'confirmed') as confirmed_count,
        max(source.n_participants) filter (where source.comparison_group = 'raised') as raised_count,
        max(source.pct) filter (where source.comparison_group = 'lowered') as lowered_pct,
        max(source.pct) filter (where source.comparison_group = 'confirmed') as confirmed_pct,
        max(source.pct) filter (where source.comparison_group = 'raised') as raised_pct
    from source
    inner join subjects on source.subject = subjects.source_name
    -- a row without its year, subject of the dictionary or grade cannot be placed in any mart: it is left out
    -- here, as in the other ВПР report models
    where source.year is not null and source.grade is not null
    group by
        source.load_id, source.org_level, source.org_key, source.school_id, source.org_name, source.year,
        subjects.subject_code, source.grade
),

latest as (
    -- one block per organisation and cell: the latest load
    select distinct on (org_level, org_id, school_year, subject_code, grade) *
    from blocks
    order by org_level asc, org_id asc, school_year asc, subject_code asc, grade asc, load_id desc, source_row desc
),

totals as (
    select
        *,
        coalesce(total_count, lowered_count + confirmed_count + raised_count) as n_total
    from latest
)

select
    load_id,
    source_row,
    org_level,
    org_id,
    org_name,
    school_id,
    school_year,
    subject_code,
    grade,
    n_total,
    coalesce(lowered_count, round(lowered_pct * n_total / 100)::integer) as n_lowered,
    coalesce(confirmed_count, round(confirmed_pct * n_total / 100)::integer) as n_confirmed,
    coalesce(raised_count, round(raised_pct * n_total / 100)::integer) as n_raised,
    coalesce(lowered_pct, round(100.0 * lowered_count / nullif(n_total, 0), 2)) as pct_lowered,
    coalesce(confirmed_pct, round(100.0 * confirmed_count / nullif(n_total, 0), 2)) as pct_confirmed,
    coalesce(raised_pct, round(100.0 * raised_count / nullif(n_total, 0), 2)) as pct_raised,
    (
        (lowered_count is null and lowered_pct is not null)
        or (confirmed_count is null and confirmed_pct is not null)
        or (raised_count is null and raised_pct is not null)
    ) and n_total is not null as is_count_derived
from totals
