-- The indicators behind each risk factor: value, threshold and whether it is exceeded.
select
    indicators.school_id::text as school_id,
    schools.municipality::text as municipality,
    indicators.school_year::integer as school_year,
    indicators.factor_code::text as factor_code,
    indicators.indicator_code::text as indicator_code,
    indicators.indicator_name::text as indicator_name,
    indicators.value::numeric(12, 2) as value,
    indicators.threshold::numeric(12, 2) as threshold,
    indicators.is_over_threshold::boolean as is_over_threshold,
    indicators.is_implausible::boolean as is_implausible
from {{ ref('int_risk_indicators') }} as indicators
left join {{ ref('dim_school') }} as schools on indicators.school_id = schools.school_id
