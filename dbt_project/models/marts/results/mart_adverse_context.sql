-- ШНСУ and resilient schools per school and year, with the context index and the results expected from it.
with context as (
    select * from {{ ref('int_adverse_context') }}
),

schools as (
    select * from {{ ref('dim_school') }}
),

candidates as (
    select * from {{ ref('int_low_results_candidates') }}
)

select
    context.school_id::text as school_id,
    schools.school_name::text as school_name,
    context.municipality::text as municipality,
    context.school_year::integer as school_year,
    round(context.context_index::numeric, 3)::numeric(8, 3) as context_index,
    context.imputed_components::integer as imputed_components,
    context.is_adverse::boolean as is_adverse,
    context.is_adverse_in_municipality::boolean as is_adverse_in_municipality,
    round(context.residual::numeric, 3)::numeric(8, 3) as residual,
    case
        when context.residual > 0 then 'выше ожидаемого'
        when context.residual < 0 then 'ниже ожидаемого'
    end::text as versus_expected,
    context.is_resilient::boolean as is_resilient,
    context.is_resilient::boolean as is_curator_candidate,
    -- low results although the context is favourable: a sign of management risks
    (coalesce(candidates.is_candidate, false) and context.context_index > 0)::boolean as management_risk_sign
from context
left join schools on context.school_id = schools.school_id
left join candidates on context.school_id = candidates.school_id and context.school_year = candidates.school_year
