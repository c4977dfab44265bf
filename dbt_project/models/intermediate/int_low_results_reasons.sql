-- ШНОР reasons: per school, year, procedure and subject (grades pooled) the school's values, the region's values
-- at the same grades and the school's percentile in the region, as one Russian sentence per procedure × subject
-- and one text per school-year, so that an analyst sees why from mart_low_results alone.
with cells as (
    select
        school_id,
        school_year,
        procedure_code,
        subject_code,
        grade as first_grade,
        grade::text as grades,
        false as is_pooled,
        n,
        x,
        mean_score,
        region_share_low,
        region_mean_score,
        cell_z
    from {{ ref('int_low_results_cells') }}
    where cell_z is not null
    union all
    select
        school_id,
        school_year,
        procedure_code,
        subject_code,
        first_grade,
        grades,
        true as is_pooled,
        n,
        x,
        mean_score,
        region_share_low,
        region_mean_score,
        cell_z
    from {{ ref('int_low_results_small_cells') }}
    where cell_z is not null
),

procedures as (
    select * from {{ ref('dim_procedure') }}
),

subjects as (
    select * from {{ ref('identification_subjects') }}
),

pooled as (
    -- the region's values weighted by the school's own participants per grade: the region at the school's grades
    select
        school_id,
        school_year,
        procedure_code,
        subject_code,
        sum(n) as n,
        string_agg(grades, ', ' order by first_grade) filter (where not is_pooled) as grades,
        max(grades) filter (where is_pooled) as pooled_grades,
        100 * sum(x) / nullif(sum(case when x is not null then n end), 0) as share_low,
        100 * sum(case when x is not null then n * region_share_low end)
        / nullif(sum(case when x is not null then n end), 0) as region_share_low,
        sum(n * mean_score) / nullif(sum(case when mean_score is not null then n end), 0) as mean_score,
        sum(n * region_mean_score) / nullif(sum(case when mean_score is not null then n end), 0)
            as region_mean_score,
        sum(sqrt(n) * cell_z) / sum(sqrt(n)) as subject_z
    from cells
    group by school_id, school_year, procedure_code, subject_code
),

ranked as (
    -- percentile: the share of the region's other schools with this procedure × subject whose results are better
    select
        *,
        case
            when count(*) over same_cell > 1
                then percent_rank() over (partition by school_year, procedure_code, subject_code order by subject_z)
        end as percentile
    from pooled
    window same_cell as (partition by school_year, procedure_code, subject_code)
),

worded as (
    select
        ranked.*,
        split_part(procedures.procedure_name, ' (', 1) || ', ' || subjects.subject_name
        || ' (' || concat_ws('; ', ranked.grades || ' кл.', 'малые классы ' || ranked.pooled_grades || ' кл. вместе')
        || ', ' || ranked.n::integer || ' уч.): '
        || case procedures.result_kind
            when 'mark' then 'доля «2» ' when 'level' then 'доля уровня L0 ' else 'доля ниже минимального порога '
        end
        || coalesce(
            replace(to_char(ranked.share_low, 'FM990.0'), '.', ',') || ' % (регион '
            || replace(to_char(ranked.region_share_low, 'FM990.0'), '.', ',') || ' %)',
            'нет данных'
        )
        || case when procedures.result_kind = 'test_score' then ', средний тестовый балл ' else ', средний балл ' end
        || coalesce(
            replace(to_char(ranked.mean_score, 'FM990.0'), '.', ',')
            || case when procedures.result_kind = 'test_score' then ' (регион ' else ' % от максимума (регион ' end
            || replace(to_char(ranked.region_mean_score, 'FM990.0'), '.', ',')
            || case when procedures.result_kind = 'test_score' then ')' else ' %)' end,
            'нет данных'
        )
        || coalesce(
            '; хуже, чем у ' || round(100 * ranked.percentile)::integer || ' % школ региона',
            '; других школ региона с этой процедурой нет'
        ) as reason
    from ranked
    inner join procedures on ranked.procedure_code = procedures.procedure_code
    inner join subjects on ranked.subject_code = subjects.subject_code
)

select
    school_id,
    school_year,
    procedure_code,
    subject_code,
    n,
    grades,
    pooled_grades,
    share_low,
    region_share_low,
    mean_score,
    region_mean_score,
    subject_z,
    percentile,
    reason
from worded
