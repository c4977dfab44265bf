-- Which risk indicators go together with low results across all schools of the region (seed 003).
select
    associations.school_year::integer as school_year,
    associations.factor_code::text as factor_code,
    factors.factor_name::text as factor_name,
    associations.indicator_code::text as indicator_code,
    indicators.indicator_name::text as indicator_name,
    associations.n_schools::integer as n_schools,
    round(associations.rho::numeric, 3)::numeric(5, 3) as spearman_rho,
    associations.p_value::double precision as p_value,
    case
        when associations.rho is null then 'нет данных'
        when abs(associations.rho) < 0.1 then 'связи нет'
        when abs(associations.rho) < 0.3 then 'слабая'
        when abs(associations.rho) < 0.5 then 'умеренная'
        else 'сильная'
    end::text as strength,
    case
        when associations.rho > 0 then 'чем выше показатель, тем ниже результаты'
        when associations.rho < 0 then 'чем выше показатель, тем выше результаты'
    end::text as direction,
    coalesce(associations.p_value < 0.05, false)::boolean as is_significant
from {{ ref('int_factor_associations') }} as associations
left join {{ ref('risk_factors') }} as factors on associations.factor_code = factors.factor_code
left join {{ ref('risk_indicators') }} as indicators on associations.indicator_code = indicators.indicator_code
