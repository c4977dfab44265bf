-- BI-facing dynamics of school results year over year (cross-cohort: different pupils each year).
with dynamics as (
    select * from {{ ref('int_school_dynamics') }}
),

schools as (
    select * from {{ ref('dim_school') }}
),

min_cell as (
    select min_cell_size from {{ ref('int_method_parameters') }}
),

shown as (
    -- a year under the minimum cell is hidden in mart_school_results: its share and mean would be
    -- recovered from the change, so the figures of the pair are hidden too (the class stays)
    select
        dynamics.*,
        least(dynamics.n_prev, dynamics.n_now) < min_cell.min_cell_size as is_suppressed,
        'скрыто: в одном из двух лет участников меньше ' || min_cell.min_cell_size as suppressed_reason
    from dynamics
    cross join min_cell
)

select
    dynamics.school_id::text as school_id,
    schools.school_name::text as school_name,
    schools.municipality::text as municipality,
    dynamics.procedure_code::text as procedure_code,
    dynamics.subject_code::text as subject_code,
    dynamics.grade::integer as grade,
    dynamics.school_year::integer as school_year,
    dynamics.comparison_kind::text as comparison_kind,
    dynamics.n_prev::integer as n_prev,
    dynamics.n_now::integer as n_now,
    round(case when not dynamics.is_suppressed then dynamics.low_change_pp end::numeric, 2)::numeric(7, 2)
        as low_change_pp,
    round(case when not dynamics.is_suppressed then dynamics.low_change_lower_pp end::numeric, 2)::numeric(7, 2)
        as low_change_lower_pp,
    round(case when not dynamics.is_suppressed then dynamics.low_change_upper_pp end::numeric, 2)::numeric(7, 2)
        as low_change_upper_pp,
    case when not dynamics.is_suppressed then dynamics.low_fisher_p end::double precision as low_fisher_p,
    round(case when not dynamics.is_suppressed then dynamics.quality_change_pp end::numeric, 2)::numeric(7, 2)
        as quality_change_pp,
    round(case when not dynamics.is_suppressed then dynamics.quality_change_lower_pp end::numeric, 2)::numeric(7, 2)
        as quality_change_lower_pp,
    round(case when not dynamics.is_suppressed then dynamics.quality_change_upper_pp end::numeric, 2)::numeric(7, 2)
        as quality_change_upper_pp,
    case when not dynamics.is_suppressed then dynamics.quality_fisher_p end::double precision as quality_fisher_p,
    round(dynamics.region_low_change_pp::numeric, 2)::numeric(7, 2) as region_low_change_pp,
    round(case when not dynamics.is_suppressed then dynamics.low_change_vs_region_pp end::numeric, 2)::numeric(7, 2)
        as low_change_vs_region_pp,
    round(case when not dynamics.is_suppressed then dynamics.mean_prev end::numeric, 2)::numeric(6, 2)
        as mean_score_prev,
    round(case when not dynamics.is_suppressed then dynamics.mean_now end::numeric, 2)::numeric(6, 2) as mean_score_now,
    round(case when not dynamics.is_suppressed then dynamics.mean_change end::numeric, 2)::numeric(7, 2)
        as mean_score_change,
    case when not dynamics.is_suppressed then dynamics.mean_welch_p end::double precision as mean_welch_p,
    round(case when not dynamics.is_suppressed then dynamics.probit_shift end::numeric, 3)::numeric(6, 3)
        as probit_shift,
    round(case when not dynamics.is_suppressed then dynamics.probit_shift_lower end::numeric, 3)::numeric(6, 3)
        as probit_shift_lower,
    round(case when not dynamics.is_suppressed then dynamics.probit_shift_upper end::numeric, 3)::numeric(6, 3)
        as probit_shift_upper,
    round(case when not dynamics.is_suppressed then dynamics.probit_shift_se end::numeric, 3)::numeric(6, 3)
        as probit_shift_se,
    round(case when not dynamics.is_suppressed then dynamics.probit_z end::numeric, 2)::numeric(6, 2) as probit_z,
    case when not dynamics.is_suppressed then dynamics.probit_p end::double precision as probit_p,
    case when not dynamics.is_suppressed then dynamics.probit_q_bh end::double precision as probit_q_bh,
    dynamics.thresholds_used::text as thresholds_used,
    round(dynamics.tau_cohort::numeric, 3)::numeric(6, 3) as tau_cohort,
    round(dynamics.region_probit_shift::numeric, 3)::numeric(6, 3) as region_probit_shift,
    case when not dynamics.is_suppressed then dynamics.fioko_fail_increase end::boolean as fioko_fail_increase,
    dynamics.dynamics_method::text as dynamics_method,
    dynamics.dynamics_class::text as dynamics_class,
    dynamics.trend::text as trend,
    dynamics.reliability::text as reliability,
    dynamics.in_indicator_base::boolean as in_indicator_base,
    dynamics.is_suppressed::boolean as is_suppressed,
    case when dynamics.is_suppressed then dynamics.suppressed_reason end::text as reason_missing
from shown as dynamics
left join schools on dynamics.school_id = schools.school_id
