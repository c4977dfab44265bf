-- ШНОР method, step 2: one score per school and year (√n-weighted mean of the standardised cells, from at
-- least two procedures), ranked within the school's comparison group (НОШ/ООШ/СОШ) across the whole region.
with cells as (
    select * from {{ ref('int_low_results_cells') }}
),

schools as (
    select * from {{ ref('dim_school') }}
),

params as (
    select * from {{ ref('int_method_parameters') }}
),

cell_scores as (
    select
        *,
        -- a cell's badness: the mean of its available standardised measures
        (coalesce(z_low, 0) + coalesce(z_score, 0))
        / nullif((z_low is not null)::integer + (z_score is not null)::integer, 0) as cell_z
    from cells
),

school_years as (
    select
        cell_scores.school_id,
        cell_scores.school_year,
        sum(sqrt(cell_scores.n) * cell_scores.cell_z) / sum(sqrt(cell_scores.n)) as result_score,
        count(distinct cell_scores.procedure_code || ':' || cell_scores.subject_code) as n_procedures,
        string_agg(distinct cell_scores.procedure_code || ':' || cell_scores.subject_code, ', ') as procedures,
        sum(cell_scores.n) as n_results
    from cell_scores
    where cell_scores.cell_z is not null
    group by cell_scores.school_id, cell_scores.school_year
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
    where school_years.n_procedures >= params.min_procedures
    window group_year as (
        partition by schools.comparison_group, school_years.school_year order by school_years.result_score desc
    )
)

select
    ranked.*,
    -- the worst ceil(share × group size) schools: a small group (a few НОШ) still has its worst school
    ranked.worst_rank <= ceil(params.worst_share_entry * ranked.group_size) as in_worst_entry,
    ranked.worst_rank <= ceil(params.worst_share_exit * ranked.group_size) as in_worst_exit
from ranked
cross join params
