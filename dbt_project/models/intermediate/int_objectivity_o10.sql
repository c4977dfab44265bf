{{ config(materialized='table') }}
-- O10 — too-perfect internal marks. Per school × year × grade with ВПР results (subject 'all'): the share of
-- pupils with a «2» or a debt at the end of the year (municipal performance report; the year, else the last
-- term) against the grade's ВПР share of «2» (both subjects pooled). The rule: almost no «2» in the register
-- (at most term_fail_max) while the ВПР share of «2» is at least the region's vpr_quantile of school grades.
-- A low count of «2» in a small grade is often chance, so it must also be significantly below the count
-- expected from the school's ВПР «2» share times the region's ratio of term «2» to ВПР «2» (one-sided
-- binomial, lower tail), Holm within the school-year.
with params as (
    {{ objectivity_parameters('O10', ['min_n', 'alpha_family', 'term_fail_max', 'vpr_quantile']) }}
),

vpr as (
    select
        school_id,
        school_year,
        grade,
        bool_and(result_source = 'individual') as all_individual,
        bool_and(is_consistent) as is_consistent,
        sum(n_participants) as n_vpr,
        sum(round(share_mark_2 * n_participants / 100.0)) as n_vpr_2
    from {{ ref('int_school_results') }}
    where procedure_code = 'vpr'
    group by school_id, school_year, grade
),

performance as materialized (
    -- materialized: the staging view's row estimate is far too low for a good join plan
    -- the year's row, else the latest term of the year; one row per school × year × grade
    select distinct on (school_id, school_year, grade)
        school_id,
        school_year,
        grade,
        period_code,
        enrolled,
        failing
    from {{ ref('stg_municipal__performance') }}
    where period_code in ('year', 'q4', 'h2') and enrolled is not null and failing is not null
    order by
        school_id asc, school_year asc, grade asc,
        case period_code when 'year' then 1 when 'q4' then 2 else 3 end asc
),

joined as materialized (
    select
        vpr.*,
        params.min_n,
        params.alpha_family,
        params.term_fail_max,
        params.vpr_quantile,
        params.rule_version,
        performance.period_code,
        performance.enrolled,
        performance.failing,
        vpr.n_vpr_2 / nullif(vpr.n_vpr, 0) as vpr_share_2,
        performance.failing::double precision / nullif(performance.enrolled, 0) as term_share_2,
        vpr.is_consistent and vpr.n_vpr >= params.min_n and performance.enrolled >= params.min_n as is_usable
    from vpr
    inner join params on vpr.school_year = params.school_year
    left join performance
        on
            vpr.school_id = performance.school_id
            and vpr.school_year = performance.school_year
            and vpr.grade = performance.grade
),

region as (
    select
        school_year,
        grade,
        vpr_quantile,
        percentile_cont(vpr_quantile) within group (order by vpr_share_2) as vpr_cut,
        sum(failing)::double precision / sum(enrolled) as region_term_2,
        sum(n_vpr_2) / sum(n_vpr) as region_vpr_2
    from joined
    where is_usable
    group by school_year, grade, vpr_quantile
),

framed as (
    select
        joined.*,
        region.vpr_cut,
        region.region_term_2,
        -- the school's expected term «2»: its ВПР «2» share scaled by the region's term-to-ВПР ratio
        least(1, joined.vpr_share_2 * region.region_term_2 / nullif(region.region_vpr_2, 0)) as expected_term_2,
        case
            when not joined.is_consistent then 'несогласованные результаты ВПР в классе'
            when joined.n_vpr < joined.min_n
                then 'участников ВПР в классе ' || joined.n_vpr || ' (меньше ' || joined.min_n || ')'
            when joined.enrolled is null
                then 'нет данных об успеваемости класса за ' || joined.school_year || ' год (муниципальная отчётность)'
            when joined.enrolled < joined.min_n
                then 'обучающихся в классе ' || joined.enrolled || ' (меньше ' || joined.min_n || ')'
            when region.vpr_cut is null or region.region_vpr_2 = 0 then 'нет данных по региону для сравнения'
        end as cell_reason
    from joined
    left join region on joined.school_year = region.school_year and joined.grade = region.grade
),

check_rows as (
    select
        school_id,
        school_year,
        'vpr' as procedure_code,
        'all' as subject_code,
        grade,
        'O10' as check_code,
        'main' as sub_check,
        'aggregated' as data_basis,
        enrolled as n_participants,
        100 * term_share_2 as effect,
        '% обучающихся с «2» или задолженностью за год' as effect_unit,
        100 * term_fail_max as threshold,
        '≤' as comparison,
        100 * vpr_cut as region_value,
        case when cell_reason is null then stats.binom_cdf(failing, enrolled, expected_term_2) end as p_value,
        null::double precision as percentile,
        rule_version,
        case
            when cell_reason is null then
                'С «2» или задолженностью за год ' || {{ ru_num('100 * term_share_2') }} || ' % (' || failing || ' из '
                || enrolled || ', порог ' || {{ ru_num('100 * term_fail_max') }} || ' %), а доля «2» на ВПР '
                || {{ ru_num('100 * vpr_share_2') }} || ' % при ' || {{ ru_num('100 * vpr_quantile', 0) }}
                || '-м процентиле школ региона ' || {{ ru_num('100 * vpr_cut') }} || ' %; ожидалось '
                || {{ ru_num('100 * expected_term_2') }} || ' % с «2»; '
                || {{ ru_p('stats.binom_cdf(failing, enrolled, expected_term_2)') }}
        end as explanation,
        cell_reason as insufficient_reason,
        'недостаточно данных' as insufficient_status,
        term_share_2 <= term_fail_max and vpr_share_2 >= vpr_cut as rule_fires,
        alpha_family as alpha
    from framed
)

{{ objectivity_finalize('check_rows') }}
