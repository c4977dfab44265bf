{{ config(materialized='table') }}
-- Year-over-year change of each school's results (the same procedure, subject and grade; different pupils,
-- so a cross-cohort comparison), judged against the region on the probit scale of the cumulative shares
-- (docs/research/issue9_dynamics.md §2). The school's per-threshold changes net of the region's, d_j, are
-- combined into one GLS location shift β̂ (stats.gls_location_shift; pupil SD, positive = better) with
-- SE² = SE₀² + 2τ², where 2τ² is the cohort-to-cohort variance beyond sampling noise, estimated per cell group
-- and year by the MAD of β̂ over schools with at least tau_min_n participants (robust to the few schools that
-- really changed). A class needs p ≤ α and Benjamini–Hochberg at dynamics_fdr_q on the one-sided p-values of
-- its direction, over every comparison of the school year (all procedures, subjects, grades). A uniform
-- change of cut scores moves every school's probits by the region's R_j, so it moves no class; the region's
-- break is reported once, in mart_region_dynamics. Newcombe intervals and Fisher's test of the share of low
-- results and of «4»+«5» against the probit baseline, Welch's test of the mean score and the FIOKO rule
-- (+10 p.p. of «2» net of the region) are published beside the class, not in it.
with pairs as (
    select * from {{ ref('int_school_result_pairs') }}
),

params as (
    select * from {{ ref('int_method_parameters') }}
),

dynamics_params as (
    select
        max(value) filter (where parameter_code = 'dynamics_fdr_q')::double precision as fdr_q,
        max(value) filter (where parameter_code = 'tau_min_n')::double precision as tau_min_n,
        max(value) filter (where parameter_code = 'tau_min_schools')::double precision as tau_min_schools
    from {{ ref('method_parameters') }}
),

shifted as (
    select
        pairs.*,
        stats.gls_location_shift(
            pairs.d1, pairs.d2, pairs.d3,
            pairs.v11, pairs.v12, pairs.v13, pairs.v22, pairs.v23, pairs.v33,
            pairs.m1, pairs.m2, pairs.m3
        ) as gls,
        pairs.m1 and pairs.m2 and (pairs.m3 or pairs.n_categories = 3) as all_thresholds
    from pairs
),

estimates as (
    select
        shifted.*,
        shifted.gls[1] as beta,
        shifted.gls[2] as se0_squared
    from shifted
),

tau_sample as (
    -- the schools whose spread estimates the cohort variance
    select estimates.*
    from estimates
    cross join dynamics_params
    where
        estimates.beta is not null and estimates.all_thresholds
        and least(estimates.n_prev, estimates.n_now) >= dynamics_params.tau_min_n
),

family_medians as (
    select
        procedure_code,
        subject_code,
        grade,
        school_year,
        percentile_cont(0.5) within group (order by beta) as beta_median
    from tau_sample
    group by procedure_code, subject_code, grade, school_year
),

family_tau as (
    select
        tau_sample.procedure_code,
        tau_sample.subject_code,
        tau_sample.grade,
        tau_sample.school_year,
        count(*) as n_schools,
        greatest(
            power(
                1.4826 * percentile_cont(0.5) within group (order by abs(tau_sample.beta - family_medians.beta_median)),
                2
            )
            - percentile_cont(0.5) within group (order by tau_sample.se0_squared),
            0
        ) as tau2x2
    from tau_sample
    inner join family_medians using (procedure_code, subject_code, grade, school_year)
    group by tau_sample.procedure_code, tau_sample.subject_code, tau_sample.grade, tau_sample.school_year
),

procedure_medians as (
    select
        procedure_code,
        school_year,
        percentile_cont(0.5) within group (order by beta) as beta_median
    from tau_sample
    group by procedure_code, school_year
),

procedure_tau as (
    -- too few schools in a cell group: the procedure's year pooled over its subjects and grades
    select
        tau_sample.procedure_code,
        tau_sample.school_year,
        count(*) as n_schools,
        greatest(
            power(
                1.4826
                * percentile_cont(0.5) within group (order by abs(tau_sample.beta - procedure_medians.beta_median)),
                2
            )
            - percentile_cont(0.5) within group (order by tau_sample.se0_squared),
            0
        ) as tau2x2
    from tau_sample
    inner join procedure_medians using (procedure_code, school_year)
    group by tau_sample.procedure_code, tau_sample.school_year
),

tested as (
    select
        estimates.*,
        -- no school large enough anywhere in the procedure's year: sampling noise only
        coalesce(
            case when family_tau.n_schools >= dynamics_params.tau_min_schools then family_tau.tau2x2 end,
            case when procedure_tau.n_schools >= dynamics_params.tau_min_schools then procedure_tau.tau2x2 end,
            0
        ) as tau2x2
    from estimates
    cross join dynamics_params
    left join family_tau
        on
            estimates.procedure_code = family_tau.procedure_code
            and estimates.subject_code = family_tau.subject_code
            and estimates.grade = family_tau.grade
            and estimates.school_year = family_tau.school_year
    left join procedure_tau
        on
            estimates.procedure_code = procedure_tau.procedure_code
            and estimates.school_year = procedure_tau.school_year
),

z_scores as (
    select
        tested.*,
        sqrt(tested.se0_squared + tested.tau2x2) as beta_se,
        tested.beta / sqrt(tested.se0_squared + tested.tau2x2) as z
    from tested
),

one_sided as (
    select
        z_scores.*,
        least(2 * stats.normal_sf(abs(z_scores.z)), 1) as p_two_sided,
        stats.normal_sf(z_scores.z) as p_up,
        stats.normal_cdf(z_scores.z) as p_down,
        row_number() over (
            order by z_scores.school_id, z_scores.procedure_code, z_scores.subject_code, z_scores.grade
        ) as comparison_id
    from z_scores
),

year_q as (
    -- Benjamini–Hochberg per direction over every comparison of the school year
    select
        school_year,
        unnest(array_agg(comparison_id order by comparison_id)) as comparison_id,
        unnest(stats.bh_qvalues(array_agg(p_up order by comparison_id))) as q_up,
        unnest(stats.bh_qvalues(array_agg(p_down order by comparison_id))) as q_down
    from one_sided
    group by school_year
),

adjusted as (
    select
        one_sided.*,
        year_q.q_up,
        year_q.q_down
    from one_sided
    inner join year_q
        on
            one_sided.school_year = year_q.school_year
            and one_sided.comparison_id = year_q.comparison_id
),

described as (
    -- the descriptive tests of the shares against the probit baseline and of the mean score
    select
        adjusted.*,
        100.0
        * (adjusted.low_now::double precision / adjusted.n_now - adjusted.low_prev::double precision / adjusted.n_prev)
            as low_change_pp,
        100.0
        * stats.newcombe_lower(
            adjusted.low_now, adjusted.n_now, adjusted.low_base, adjusted.n_prev, params.confidence_z
        )
            as low_change_lower_pp,
        100.0
        * stats.newcombe_upper(
            adjusted.low_now, adjusted.n_now, adjusted.low_base, adjusted.n_prev, params.confidence_z
        )
            as low_change_upper_pp,
        100.0 * (adjusted.low_now::double precision / adjusted.n_now - adjusted.low_base_share) as low_change_net_pp,
        100.0
        * (
            adjusted.quality_now::double precision / adjusted.n_now
            - adjusted.quality_prev::double precision / adjusted.n_prev
        ) as quality_change_pp,
        100.0
        * stats.newcombe_lower(
            adjusted.quality_now, adjusted.n_now, adjusted.quality_base, adjusted.n_prev, params.confidence_z
        )
            as quality_change_lower_pp,
        100.0
        * stats.newcombe_upper(
            adjusted.quality_now, adjusted.n_now, adjusted.quality_base, adjusted.n_prev, params.confidence_z
        )
            as quality_change_upper_pp,
        adjusted.mean_now - adjusted.mean_prev as mean_change,
        stats.welch_p(
            adjusted.mean_now, adjusted.variance_now, adjusted.n_now,
            adjusted.mean_prev, adjusted.variance_prev, adjusted.n_prev
        ) as mean_welch_p,
        least(
            adjusted.low_now, adjusted.n_now - adjusted.low_now, adjusted.low_base, adjusted.n_prev - adjusted.low_base
        )
        < params.fisher_small_count as low_small,
        least(
            adjusted.quality_now, adjusted.n_now - adjusted.quality_now,
            adjusted.quality_base, adjusted.n_prev - adjusted.quality_base
        ) < params.fisher_small_count as quality_small,
        params.alpha,
        params.fail_increase_pp,
        params.dynamics_min_n,
        params.reliability_high_n,
        params.reliability_medium_n,
        params.reliability_low_n,
        params.confidence_z,
        dynamics_params.fdr_q
    from adjusted
    cross join params
    cross join dynamics_params
),

significance as (
    select
        described.*,
        case
            when described.low_small
                then stats.fisher_exact_p(described.low_now, described.n_now, described.low_base, described.n_prev)
        end as low_fisher_p,
        case
            when described.quality_small
                then
                    stats.fisher_exact_p(
                        described.quality_now, described.n_now, described.quality_base, described.n_prev
                    )
        end as quality_fisher_p
    from described
),

classified as (
    select
        significance.*,
        case
            when significance.low_small then significance.low_fisher_p < significance.alpha
            else significance.low_change_lower_pp > 0 or significance.low_change_upper_pp < 0
        end as low_significant,
        case
            when significance.quality_small then significance.quality_fisher_p < significance.alpha
            else significance.quality_change_lower_pp > 0 or significance.quality_change_upper_pp < 0
        end as quality_significant,
        case
            when significance.beta is null then 'недостаточно данных'
            when
                significance.beta > 0 and significance.p_two_sided <= significance.alpha
                and significance.q_up <= significance.fdr_q
                then 'положительная'
            when
                significance.beta < 0 and significance.p_two_sided <= significance.alpha
                and significance.q_down <= significance.fdr_q
                then 'отрицательная'
            -- too few pupils to say that nothing changed
            when least(significance.n_prev, significance.n_now) < significance.reliability_low_n
                then 'недостаточно данных'
            else 'без значимых изменений'
        end as dynamics_class
    from significance
)

select
    school_id,
    procedure_code,
    subject_code,
    grade,
    school_year,
    'межкогортное' as comparison_kind,
    n_prev,
    n_now,
    low_change_pp,
    low_change_lower_pp,
    low_change_upper_pp,
    low_fisher_p,
    low_significant,
    quality_change_pp,
    quality_change_lower_pp,
    quality_change_upper_pp,
    quality_fisher_p,
    quality_significant,
    mean_prev,
    mean_now,
    mean_change,
    mean_welch_p,
    region_low_change_pp,
    -- the change of the share of low results against last year moved by the region (the probit baseline)
    low_change_net_pp as low_change_vs_region_pp,
    low_change_net_pp >= fail_increase_pp as fioko_fail_increase,
    beta as probit_shift,
    beta_se as probit_shift_se,
    beta - confidence_z * beta_se as probit_shift_lower,
    beta + confidence_z * beta_se as probit_shift_upper,
    z as probit_z,
    p_two_sided as probit_p,
    case when beta > 0 then q_up when beta < 0 then q_down else least(q_up, q_down) end as probit_q_bh,
    sqrt(tau2x2 / 2) as tau_cohort,
    region_probit_shift,
    nullif(concat_ws(
        ', ',
        case
            when m1 then case category_kind when 'marks' then '2|3' when 'levels' then 'L0|L1' else 'низкий|средний' end
        end,
        case
            when
                m2
                then case category_kind when 'marks' then '3|4' when 'levels' then 'L1|L2' else 'средний|«4»+«5»' end
        end,
        case when m3 then case category_kind when 'marks' then '4|5' else 'L2|L3' end end
    ), '') as thresholds_used,
    dynamics_class,
    'сдвиг по пробит-шкале накопленных долей относительно региона (обобщённый МНК), поправка Бенджамини–Хохберга'
        as dynamics_method,
    case
        when beta > 0 then 'тенденция к улучшению'
        when beta < 0 then 'тенденция к ухудшению'
        else 'без изменений'
    end as trend,
    case
        when least(n_prev, n_now) >= reliability_high_n then 'высокая'
        when least(n_prev, n_now) >= reliability_medium_n then 'средняя'
        when least(n_prev, n_now) >= reliability_low_n then 'низкая'
        else 'недостаточно данных'
    end as reliability,
    least(n_prev, n_now) >= dynamics_min_n as in_indicator_base,
    -- lenient variant of «положительная динамика»: the strict one, or a shift upwards without a significant
    -- deterioration (a shift that cannot be computed is not lenient)
    dynamics_class = 'положительная' or coalesce(beta > 0 and dynamics_class != 'отрицательная', false)
        as is_positive_lenient
from classified
