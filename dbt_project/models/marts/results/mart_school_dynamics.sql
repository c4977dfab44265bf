-- BI-facing dynamics of school results year over year (cross-cohort: different pupils each year).
with dynamics as (
    select * from {{ ref('int_school_dynamics') }}
),

schools as (
    select * from {{ ref('dim_school') }}
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
    round(dynamics.low_change_pp::numeric, 2)::numeric(7, 2) as low_change_pp,
    round(dynamics.low_change_lower_pp::numeric, 2)::numeric(7, 2) as low_change_lower_pp,
    round(dynamics.low_change_upper_pp::numeric, 2)::numeric(7, 2) as low_change_upper_pp,
    dynamics.low_fisher_p::double precision as low_fisher_p,
    round(dynamics.quality_change_pp::numeric, 2)::numeric(7, 2) as quality_change_pp,
    round(dynamics.quality_change_lower_pp::numeric, 2)::numeric(7, 2) as quality_change_lower_pp,
    round(dynamics.quality_change_upper_pp::numeric, 2)::numeric(7, 2) as quality_change_upper_pp,
    dynamics.quality_fisher_p::double precision as quality_fisher_p,
    round(dynamics.region_low_change_pp::numeric, 2)::numeric(7, 2) as region_low_change_pp,
    round(dynamics.low_change_vs_region_pp::numeric, 2)::numeric(7, 2) as low_change_vs_region_pp,
    round(dynamics.mean_prev::numeric, 2)::numeric(6, 2) as mean_score_prev,
    round(dynamics.mean_now::numeric, 2)::numeric(6, 2) as mean_score_now,
    round(dynamics.mean_change::numeric, 2)::numeric(7, 2) as mean_score_change,
    dynamics.mean_welch_p::double precision as mean_welch_p,
    round(dynamics.p_improved::numeric, 3)::numeric(4, 3) as p_improved,
    dynamics.dynamics_method::text as dynamics_method,
    dynamics.dynamics_class::text as dynamics_class,
    dynamics.trend::text as trend,
    dynamics.reliability::text as reliability,
    dynamics.in_indicator_base::boolean as in_indicator_base
from dynamics
left join schools on dynamics.school_id = schools.school_id
