{{ config(materialized='table') }}
-- Year-over-year change of each school's results (the same procedure, subject and grade; different
-- pupils, so a cross-cohort comparison), with Newcombe intervals, Fisher's exact test for small counts,
-- Welch's test for the mean score, the region's own change over the same years, a class and the
-- reliability of the comparison. Below reliability_low_n participants the class comes from the
-- beta-binomial posterior probability that the share of «2» fell (one prior for both years). Every test
-- is judged against the region's own change (int_region_changes): the previous year's counts are moved by
-- the region's change (the baseline: what last year would have been under this year's conditions), so a
-- region-wide shift is reported once, in mart_region_dynamics, not as every school's class.
with pairs as (
    select * from {{ ref('int_school_result_pairs') }}
),

params as (
    select * from {{ ref('int_method_parameters') }}
),

tested as (
    select
        pairs.*,
        100.0
        * (pairs.low_now::double precision / pairs.n_now - pairs.low_prev::double precision / pairs.n_prev)
            as low_change_pp,
        100.0
        * stats.newcombe_lower(pairs.low_now, pairs.n_now, pairs.low_base, pairs.n_prev, params.confidence_z)
            as low_change_lower_pp,
        100.0
        * stats.newcombe_upper(pairs.low_now, pairs.n_now, pairs.low_base, pairs.n_prev, params.confidence_z)
            as low_change_upper_pp,
        100.0
        * (pairs.quality_now::double precision / pairs.n_now - pairs.quality_prev::double precision / pairs.n_prev)
            as quality_change_pp,
        -- the changes against the baseline (net of the region's change): what the classes judge
        100.0
        * (pairs.low_now::double precision / pairs.n_now - pairs.low_base::double precision / pairs.n_prev)
            as low_change_net_pp,
        100.0
        * (pairs.quality_now::double precision / pairs.n_now - pairs.quality_base::double precision / pairs.n_prev)
            as quality_change_net_pp,
        100.0
        * stats.newcombe_lower(pairs.quality_now, pairs.n_now, pairs.quality_base, pairs.n_prev, params.confidence_z)
            as quality_change_lower_pp,
        100.0
        * stats.newcombe_upper(pairs.quality_now, pairs.n_now, pairs.quality_base, pairs.n_prev, params.confidence_z)
            as quality_change_upper_pp,
        pairs.mean_now - pairs.mean_prev as mean_change,
        stats.welch_p(
            pairs.mean_now, pairs.variance_now, pairs.n_now, pairs.mean_prev, pairs.variance_prev, pairs.n_prev
        ) as mean_welch_p,
        least(pairs.low_now, pairs.n_now - pairs.low_now, pairs.low_base, pairs.n_prev - pairs.low_base)
        < params.fisher_small_count as low_small,
        least(
            pairs.quality_now, pairs.n_now - pairs.quality_now, pairs.quality_base, pairs.n_prev - pairs.quality_base
        )
        < params.fisher_small_count
            as quality_small
    from pairs
    cross join params
    where pairs.quality_now is not null and pairs.low_now is not null
),

significance as (
    select
        tested.*,
        case
            when
                tested.low_small
                then stats.fisher_exact_p(tested.low_now, tested.n_now, tested.low_base, tested.n_prev)
        end as low_fisher_p,
        case
            when
                tested.quality_small
                then stats.fisher_exact_p(tested.quality_now, tested.n_now, tested.quality_base, tested.n_prev)
        end
            as quality_fisher_p
    from tested
),

judged as (
    select
        significance.*,
        case
            when significance.low_small then significance.low_fisher_p < params.alpha
            else significance.low_change_lower_pp > 0 or significance.low_change_upper_pp < 0
        end as low_significant,
        case
            when significance.quality_small then significance.quality_fisher_p < params.alpha
            else significance.quality_change_lower_pp > 0 or significance.quality_change_upper_pp < 0
        end as quality_significant,
        params.fail_increase_pp,
        params.dynamics_min_n,
        params.reliability_high_n,
        params.reliability_medium_n,
        params.reliability_low_n,
        params.posterior_improvement_probability
    from significance
    cross join params
),

posterior_improvement as (
    select * from {{ ref('int_small_school_improvement') }}
),

assessed as (
    -- what the class and the lenient variant are made of: a (significant, or for small schools probable)
    -- improvement or deterioration, and the sign of the change
    select
        judged.*,
        posterior_improvement.p_improved,
        least(judged.n_prev, judged.n_now) < judged.reliability_low_n as is_small,
        case
            when least(judged.n_prev, judged.n_now) < judged.reliability_low_n
                then posterior_improvement.p_improved >= judged.posterior_improvement_probability
            else
                (judged.low_significant and judged.low_change_net_pp < 0)
                or (judged.quality_significant and judged.quality_change_net_pp > 0)
        end as improved,
        case
            when least(judged.n_prev, judged.n_now) < judged.reliability_low_n
                then 1 - posterior_improvement.p_improved >= judged.posterior_improvement_probability
            else
                (judged.low_significant and judged.low_change_net_pp > 0)
                or judged.low_change_net_pp >= judged.fail_increase_pp
                or (judged.quality_significant and judged.quality_change_net_pp < 0)
        end as deteriorated,
        judged.quality_change_net_pp - judged.low_change_net_pp > 0 as trend_up
    from judged
    left join posterior_improvement
        on
            judged.school_id = posterior_improvement.school_id
            and judged.procedure_code = posterior_improvement.procedure_code
            and judged.subject_code = posterior_improvement.subject_code
            and judged.grade = posterior_improvement.grade
            and judged.school_year = posterior_improvement.school_year
),

classified as (
    select
        assessed.*,
        case
            when assessed.deteriorated then 'отрицательная'
            when assessed.improved then 'положительная'
            -- small schools: neither probable, or no prior to judge by
            when assessed.is_small then 'недостаточно данных'
            else 'без значимых изменений'
        end as dynamics_class
    from assessed
)

select
    classified.school_id,
    classified.procedure_code,
    classified.subject_code,
    classified.grade,
    classified.school_year,
    'межкогортное' as comparison_kind,
    classified.n_prev,
    classified.n_now,
    classified.low_change_pp,
    classified.low_change_lower_pp,
    classified.low_change_upper_pp,
    classified.low_fisher_p,
    classified.low_significant,
    classified.quality_change_pp,
    classified.quality_change_lower_pp,
    classified.quality_change_upper_pp,
    classified.quality_fisher_p,
    classified.quality_significant,
    classified.mean_prev,
    classified.mean_now,
    classified.mean_change,
    classified.mean_welch_p,
    classified.p_improved,
    classified.region_low_change_pp,
    classified.low_change_pp - classified.region_low_change_pp as low_change_vs_region_pp,
    classified.dynamics_class,
    case
        when classified.is_small then 'апостериорная вероятность (бета-биномиальная модель)'
        when classified.low_small or classified.quality_small then 'точный критерий Фишера'
        else 'интервал Ньюкомба'
    end as dynamics_method,
    case
        when classified.quality_change_net_pp - classified.low_change_net_pp > 0 then 'тенденция к улучшению'
        when classified.quality_change_net_pp - classified.low_change_net_pp < 0 then 'тенденция к ухудшению'
        else 'без изменений'
    end as trend,
    case
        when least(classified.n_prev, classified.n_now) >= classified.reliability_high_n then 'высокая'
        when least(classified.n_prev, classified.n_now) >= classified.reliability_medium_n then 'средняя'
        when least(classified.n_prev, classified.n_now) >= classified.reliability_low_n then 'низкая'
        else 'недостаточно данных'
    end as reliability,
    least(classified.n_prev, classified.n_now) >= classified.dynamics_min_n as in_indicator_base,
    -- lenient variant of «положительная динамика»: the strict one, or an improvement trend without a
    -- significant (small schools: probable) deterioration; an unknown posterior counts as not lenient
    classified.dynamics_class = 'положительная'
    or (classified.trend_up and not coalesce(classified.deteriorated, true)) as is_positive_lenient
from classified
