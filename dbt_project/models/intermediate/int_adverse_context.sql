-- ШНСУ and resilience: the bottom quarter of the region by context index (and, as a variant, of its own
-- municipality); results expected from context by a regression of the result score on the index; the
-- residual says «выше/ниже ожидаемого». Resilient: adverse context and a residual in the top quarter in
-- 2 of the last 3 years — candidates to supply curators.
with context as (
    select * from {{ ref('int_context_index') }}
),

results as (
    select * from {{ ref('int_low_results_school_years') }}
),

params as (
    select
        adverse_share,
        resilient_top_share,
        entry_years_required::integer as years_required,
        entry_window_years::integer as window_years
    from {{ ref('int_method_parameters') }}
),

ranked as (
    select
        context.school_id,
        context.school_year,
        context.municipality,
        context.context_index,
        context.imputed_components,
        rank() over (partition by context.school_year order by context.context_index) as region_rank,
        count(*) over (partition by context.school_year) as region_size,
        rank() over (partition by context.school_year, context.municipality order by context.context_index)
            as municipal_rank,
        count(*) over (partition by context.school_year, context.municipality) as municipal_size,
        -- results: higher result_score = worse, so performance is its negative
        -results.result_score as performance
    from context
    left join results on context.school_id = results.school_id and context.school_year = results.school_year
),

fitted as (
    select
        ranked.*,
        regr_intercept(ranked.performance, ranked.context_index) over (partition by ranked.school_year)
        + regr_slope(ranked.performance, ranked.context_index) over (partition by ranked.school_year)
        * ranked.context_index as expected_performance
    from ranked
),

residuals as (
    select
        fitted.*,
        fitted.performance - fitted.expected_performance as residual,
        fitted.region_rank <= ceil(params.adverse_share * fitted.region_size) as is_adverse,
        fitted.municipal_rank <= ceil(params.adverse_share * fitted.municipal_size) as is_adverse_in_municipality
    from fitted
    cross join params
),

residual_ranks as (
    select
        residuals.*,
        rank() over (partition by residuals.school_year order by residuals.residual desc nulls last) as residual_rank,
        count(residuals.residual) over (partition by residuals.school_year) as residual_count
    from residuals
),

yearly as (
    select
        residual_ranks.*,
        residual_ranks.is_adverse and residual_ranks.residual is not null
        and residual_ranks.residual_rank <= ceil(params.resilient_top_share * residual_ranks.residual_count)
            as resilient_year
    from residual_ranks
    cross join params
)

select
    yearly.*,
    (
        select count(*) filter (where earlier.resilient_year)
        from yearly as earlier
        where
            earlier.school_id = yearly.school_id
            and earlier.school_year between yearly.school_year - params.window_years + 1 and yearly.school_year
    ) >= params.years_required as is_resilient
from yearly
cross join params
