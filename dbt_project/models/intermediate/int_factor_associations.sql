-- Factors associated with low results across all schools (seed 003): Spearman's rank correlation of each
-- risk indicator with the school result score, per year, with a two-sided p-value from Fisher's z
-- (normal approximation). Positive ρ: a higher indicator goes with worse results.
with indicators as (
    select * from {{ ref('int_risk_indicators') }}
),

scores as (
    select
        school_id,
        school_year,
        result_score
    from {{ ref('int_low_results_school_years') }}
),

pairs as (
    select
        indicators.indicator_code,
        indicators.factor_code,
        indicators.school_year,
        indicators.value::double precision as x,
        scores.result_score as y
    from indicators
    inner join scores using (school_id, school_year)
),

ranked as (
    -- average ranks for ties, as Spearman's ρ needs
    select
        *,
        rank() over (partition by indicator_code, school_year order by x)
        + (count(*) over (partition by indicator_code, school_year, x) - 1) / 2.0 as rank_x,
        rank() over (partition by indicator_code, school_year order by y)
        + (count(*) over (partition by indicator_code, school_year, y) - 1) / 2.0 as rank_y
    from pairs
),

correlations as (
    select
        indicator_code,
        factor_code,
        school_year,
        count(*) as n_schools,
        corr(rank_x, rank_y) as rho
    from ranked
    group by indicator_code, factor_code, school_year
)

select
    *,
    case
        when n_schools > 3 and abs(rho) < 1 then
            -- the upper tail directly (no 1 − Φ cancellation; 0, not an underflow, far in the tail)
            least(2 * stats.normal_sf(abs(atanh(rho)) * sqrt(n_schools - 3)), 1)
    end as p_value
from correlations
