-- BI-facing school results: cells with fewer participants than the minimum cell size are suppressed.
with results as (
    select * from {{ ref('int_school_results') }}
),

schools as (
    select * from {{ ref('dim_school') }}
),

procedures as (
    select * from {{ ref('procedures') }}
),

subjects as (
    select distinct
        subject_code,
        subject_name
    from {{ ref('subjects') }}
),

min_cell as (
    select min_cell_size from {{ ref('int_method_parameters') }}
),

suppressed as (
    select
        results.*,
        coalesce(results.n_participants < min_cell.min_cell_size, true) as is_suppressed,
        -- figures are shown only for cells that are published and make sense
        coalesce(results.n_participants >= min_cell.min_cell_size, false) and results.is_consistent as is_shown
    from results
    cross join min_cell
)

select
    suppressed.school_id::text as school_id,
    schools.school_name::text as school_name,
    schools.municipality::text as municipality,
    suppressed.procedure_code::text as procedure_code,
    procedures.procedure_name::text as procedure_name,
    suppressed.subject_code::text as subject_code,
    subjects.subject_name::text as subject_name,
    suppressed.grade::integer as grade,
    suppressed.school_year::integer as school_year,
    suppressed.result_source::text as result_source,
    suppressed.n_participants::integer as n_participants,
    suppressed.is_suppressed,
    {% for column in ['share_low', 'share_quality', 'share_mark_2', 'share_mark_3', 'share_mark_4',
                      'share_mark_5', 'share_level_0', 'share_level_1', 'share_level_2', 'share_level_3',
                      'mean_score_100'] %}
    round(case when suppressed.is_shown then suppressed.{{ column }} end, 2)::numeric(7, 2)
        as {{ column }},
    {% endfor %}
    round(case when suppressed.is_shown then 100 - suppressed.share_low end, 2)::numeric(7, 2) as pass_rate,
    round(case when suppressed.is_shown then suppressed.share_quality end, 2)::numeric(7, 2) as quality_rate,
    (not suppressed.is_consistent)::boolean as is_inconsistent,
    case
        when not suppressed.is_consistent then suppressed.data_issue
        when suppressed.is_suppressed then 'скрыто: участников меньше ' || min_cell.min_cell_size
        when suppressed.share_low is null
            then 'нет данных: доля низких результатов не вычисляется (нет порога или шкалы года в справочниках)'
    end::text as reason_missing
from suppressed
cross join min_cell
left join schools on suppressed.school_id = schools.school_id
left join procedures on suppressed.procedure_code = procedures.procedure_code
left join subjects on suppressed.subject_code = subjects.subject_code
