-- Risk profiles («500+» style): each factor's level from the share of its indicators over threshold
-- (высокий ≥ 50 %, средний 25–50 %, иначе низкий; no level from fewer than 2 indicators), beside FIOKO's
-- questionnaire profile where the region has it. Indicator rows are in mart_risk_indicators.
with indicators as (
    select * from {{ ref('int_risk_indicators') }}
),

factors as (
    select * from {{ ref('risk_factors') }}
),

params as (
    select
        risk_high_share as high_share,
        risk_medium_share as medium_share,
        risk_min_indicators as min_indicators
    from {{ ref('int_method_parameters') }}
),

computed as (
    select
        school_id,
        school_year,
        factor_code,
        -- a share above 100 % (is_implausible) is no evidence either way
        count(*) filter (where not is_implausible) as indicators_available,
        count(*) filter (where is_over_threshold) as indicators_over_threshold,
        string_agg(indicator_name, '; ' order by indicator_code) filter (where is_over_threshold) as reasons
    from indicators
    group by school_id, school_year, factor_code
),

official as (
    select
        school_id,
        year as school_year,
        factor_code,
        case risk_level when 'high' then 'высокий' when 'medium' then 'средний' when 'low' then 'низкий' end
            as official_level
    from {{ source('raw', 'project500_risk_profiles') }}
),

schools as (
    select * from {{ ref('dim_school') }}
),

keys as (
    select
        school_id,
        school_year,
        factor_code
    from computed
    union
    select
        school_id,
        school_year,
        factor_code
    from official
)

select
    keys.school_id::text as school_id,
    schools.school_name::text as school_name,
    schools.municipality::text as municipality,
    keys.school_year::integer as school_year,
    keys.factor_code::text as factor_code,
    factors.factor_name::text as factor_name,
    coalesce(computed.indicators_available, 0)::integer as indicators_available,
    coalesce(computed.indicators_over_threshold, 0)::integer as indicators_over_threshold,
    case
        when coalesce(computed.indicators_available, 0) < params.min_indicators then null
        when computed.indicators_over_threshold >= params.high_share * computed.indicators_available then 'высокий'
        when computed.indicators_over_threshold >= params.medium_share * computed.indicators_available then 'средний'
        else 'низкий'
    end::text as risk_level,
    computed.reasons::text as reasons,
    official.official_level::text as fioko_risk_level
from keys
cross join params
left join computed using (school_id, school_year, factor_code)
left join official using (school_id, school_year, factor_code)
left join factors on keys.factor_code = factors.factor_code
left join schools on keys.school_id = schools.school_id
