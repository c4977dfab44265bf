-- ШНОР method, step 2: one score per school and year (√n-weighted mean of the standardised cells), ranked within
-- the school's comparison group (НОШ/ООШ/СОШ) across the whole region. The rule wants min_procedures
-- procedures × subjects; a school with fewer (but at least min_procedures_ranked) is still ranked — a
-- municipality that loads one procedure must not vanish from the list — and its basis says so.
with cells as (
    -- by grade, and a small school's grades below n_min pooled (int_low_results_small_cells)
    select
        school_id,
        school_year,
        procedure_code,
        subject_code,
        n,
        cell_z
    from {{ ref('int_low_results_cells') }}
    union all
    select
        school_id,
        school_year,
        procedure_code,
        subject_code,
        n,
        cell_z
    from {{ ref('int_low_results_small_cells') }}
),

schools as (
    select * from {{ ref('dim_school') }}
),

params as (
    select * from {{ ref('int_method_parameters') }}
),

school_years as (
    select
        cells.school_id,
        cells.school_year,
        sum(sqrt(cells.n) * cells.cell_z) / sum(sqrt(cells.n)) as result_score,
        count(distinct cells.procedure_code || ':' || cells.subject_code) as n_procedures,
        string_agg(distinct cells.procedure_code || ':' || cells.subject_code, ', ') as procedures,
        sum(cells.n) as n_results
    from cells
    where cells.cell_z is not null
    group by cells.school_id, cells.school_year
),

ranked as (
    select
        school_years.*,
        schools.comparison_group,
        schools.municipality,
        rank() over group_year as worst_rank,
        count(*) over (partition by schools.comparison_group, school_years.school_year) as group_size,
        cume_dist() over (
            partition by schools.comparison_group, school_years.school_year
            order by school_years.result_score desc
        ) as worst_share
    from school_years
    inner join schools using (school_id)
    cross join params
    where school_years.n_procedures >= params.min_procedures_ranked
    window group_year as (
        partition by schools.comparison_group, school_years.school_year order by school_years.result_score desc
    )
)

select
    ranked.*,
    ranked.n_procedures < params.min_procedures as is_reduced_basis,
    case
        when ranked.n_procedures = 1 then 'по одной процедуре'
        else 'по ' || ranked.n_procedures || ' процедурам'
    end as identification_basis,
    -- the worst ceil(share × group size) schools: a small group (a few НОШ) still has its worst school
    ranked.worst_rank <= ceil(params.worst_share_entry * ranked.group_size) as in_worst_entry,
    ranked.worst_rank <= ceil(params.worst_share_exit * ranked.group_size) as in_worst_exit
from ranked
cross join params
