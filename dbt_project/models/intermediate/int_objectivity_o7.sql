{{ config(materialized='table') }}
-- O7 — independent re-check gap. No feed of re-marking results exists yet (school, year, subject, grade, works
-- re-checked, marks changed), so every school-year with ВПР results gets one row «нет данных» saying so; the
-- overall status leaves O7 out until the feed exists. With the feed: share of changed marks above
-- changed_share, one-sided binomial against it.
with params as (
    {{ objectivity_parameters('O7', ['changed_share']) }}
),

school_years as (
    select
        school_id,
        school_year,
        sum(n_participants) as n_participants
    from {{ ref('int_school_results') }}
    where procedure_code = 'vpr'
    group by school_id, school_year
),

check_rows as (
    select
        school_years.school_id,
        school_years.school_year,
        'vpr' as procedure_code,
        'all' as subject_code,
        0 as grade,
        'O7' as check_code,
        'main' as sub_check,
        'none' as data_basis,
        school_years.n_participants,
        null::double precision as effect,
        '% работ с изменённой при перепроверке отметкой' as effect_unit,
        100 * params.changed_share as threshold,
        '>' as comparison,
        null::double precision as region_value,
        null::double precision as p_value,
        null::double precision as percentile,
        params.rule_version,
        null::text as explanation,
        'нет данных о перепроверке' as insufficient_reason,
        'нет данных' as insufficient_status,
        false as rule_fires,
        0::double precision as alpha
    from school_years
    inner join params on school_years.school_year = params.school_year
)

{{ objectivity_finalize('check_rows') }}
