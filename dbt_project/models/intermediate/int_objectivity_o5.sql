{{ config(materialized='table') }}
-- O5 — jump then fall (Jacob & Levitt 2003), one row per school-year × subject (grade 0: a subject's teachers mark
-- and prepare its works, so a jump is looked for in each subject, not diluted over both). Per ВПР cell the
-- gain of the school's z (its mean against the region's school cells) over the same grade a year before, and
-- next year's gain; pooled over the school-year's cells with inverse-variance weights (each gain's variance is
-- the pupils' variance on the z scale over n, both years). SCORE = rank(gain)² + (1 − rank(next gain))², ranked
-- among the region's school-years of the same year; the rule is SCORE in the top top_share. With one neighbouring
-- year only (the first or last year): that year's gain (or fall) in the top single_year_top with single_year_min_n
-- participants. A top-share rule flags that share of honest schools by construction, so the year must also stand
-- out significantly from its two neighbours:
-- one-sided z test of the pooled spike 2 z(t) − z(t − 1) − z(t + 1) (one test of «up, then down», more powerful
-- than requiring the gain and the fall separately) against its sampling variance plus the region's year-to-year
-- variance of schools' spikes (τ², robust); with one neighbouring year, the same test of that year's change.
with params as (
    {{ objectivity_parameters('O5', [
        'min_n', 'alpha_family', 'top_share', 'single_year_top', 'single_year_min_n'
    ]) }}
),

z as (
    select * from {{ ref('int_objectivity_school_z') }}
    where procedure_code = 'vpr'
),

school_years as (
    -- every school-year with ВПР results
    select
        school_id,
        school_year,
        subject_code,
        bool_and(result_source = 'individual') as all_individual,
        sum(n_participants) as n_participants
    from {{ ref('int_school_results') }}
    where procedure_code = 'vpr'
    group by school_id, school_year, subject_code
),

gains as (
    -- per cell: the gain over the same grade a year before, the fall to the year after and the spike over both
    select
        this_year.school_id,
        this_year.school_year,
        this_year.subject_code,
        this_year.n_participants,
        this_year.z - previous_year.z as gain,
        this_year.z_variance / this_year.n_participants
        + previous_year.z_variance / previous_year.n_participants as gain_variance,
        this_year.z - next_year.z as fall,
        this_year.z_variance / this_year.n_participants
        + next_year.z_variance / next_year.n_participants as fall_variance,
        2 * this_year.z - previous_year.z - next_year.z as spike,
        4 * this_year.z_variance / this_year.n_participants
        + previous_year.z_variance / previous_year.n_participants
        + next_year.z_variance / next_year.n_participants as spike_variance
    from z as this_year
    left join z as previous_year
        on
            this_year.school_id = previous_year.school_id
            and previous_year.school_year = this_year.school_year - 1
            and this_year.subject_code = previous_year.subject_code
            and this_year.grade = previous_year.grade
            and previous_year.z_variance > 0
    left join z as next_year
        on
            this_year.school_id = next_year.school_id
            and next_year.school_year = this_year.school_year + 1
            and this_year.subject_code = next_year.subject_code
            and this_year.grade = next_year.grade
            and next_year.z_variance > 0
    where this_year.z_variance > 0
),

pooled as (
    -- inverse-variance means over the cells that have the year(s) each measure needs
    select
        school_id,
        school_year,
        subject_code,
        count(*) filter (where gain is not null or fall is not null) as n_cells,
        sum(n_participants) filter (where gain is not null or fall is not null) as n_used,
        -- inverse-variance weighted means, summed as numeric (exact: the same in whatever order the rows come)
        (sum((gain / gain_variance)::numeric) / sum((1 / gain_variance)::numeric))::double precision as gain,
        1 / sqrt(sum((1 / gain_variance)::numeric))::double precision as gain_se,
        (sum((fall / fall_variance)::numeric) / sum((1 / fall_variance)::numeric))::double precision as fall,
        1 / sqrt(sum((1 / fall_variance)::numeric))::double precision as fall_se,
        (sum((spike / spike_variance)::numeric) / sum((1 / spike_variance)::numeric))::double precision as spike,
        1 / sqrt(sum((1 / spike_variance)::numeric))::double precision as spike_se
    from gains
    group by school_id, school_year, subject_code
),

centres as (
    select
        school_year,
        subject_code,
        percentile_cont(0.5) within group (order by gain) as gain_median,
        percentile_cont(0.5) within group (order by fall) as fall_median,
        percentile_cont(0.5) within group (order by spike) as spike_median,
        percentile_cont(0.5) within group (order by gain_se ^ 2) as gain_se2_median,
        percentile_cont(0.5) within group (order by fall_se ^ 2) as fall_se2_median,
        percentile_cont(0.5) within group (order by spike_se ^ 2) as spike_se2_median
    from pooled
    group by school_year, subject_code
),

spreads as (
    -- schools move from year to year beyond the sampling of pupils (a new teacher, a different cohort): the
    -- excess variance τ² of each pooled measure over its sampling variance, robustly (1.4826 × MAD), is added
    -- to each school's variance, so the test asks whether the change is unusual among schools, not only non-zero
    select
        pooled.school_year,
        pooled.subject_code,
        greatest(0, (1.4826 * percentile_cont(0.5) within group (
            order by abs(pooled.gain - centres.gain_median)
        )) ^ 2 - max(centres.gain_se2_median)) as gain_tau2,
        greatest(0, (1.4826 * percentile_cont(0.5) within group (
            order by abs(pooled.fall - centres.fall_median)
        )) ^ 2 - max(centres.fall_se2_median)) as fall_tau2,
        greatest(0, (1.4826 * percentile_cont(0.5) within group (
            order by abs(pooled.spike - centres.spike_median)
        )) ^ 2 - max(centres.spike_se2_median)) as spike_tau2
    from pooled
    inner join centres on pooled.school_year = centres.school_year and pooled.subject_code = centres.subject_code
    group by pooled.school_year, pooled.subject_code
),

ranked as (
    select
        pooled.*,
        spreads.gain_tau2,
        spreads.fall_tau2,
        spreads.spike_tau2,
        case
            when pooled.gain is not null then
                percent_rank() over (
                    partition by pooled.school_year, pooled.subject_code, pooled.gain is not null order by pooled.gain
                )
        end as gain_rank,
        -- next year's gain is −fall
        case
            when pooled.fall is not null then
                percent_rank() over (
                    partition by pooled.school_year, pooled.subject_code, pooled.fall is not null order by -pooled.fall
                )
        end as next_gain_rank
    from pooled
    inner join spreads on pooled.school_year = spreads.school_year and pooled.subject_code = spreads.subject_code
),

scored as (
    select
        *,
        case
            when spike is not null then
                cume_dist() over (
                    partition by school_year, subject_code, spike is not null
                    order by gain_rank ^ 2 + (1 - next_gain_rank) ^ 2
                )
        end as score_rank,
        stats.normal_sf(gain / sqrt(gain_se ^ 2 + gain_tau2)) as p_gain,
        stats.normal_sf(fall / sqrt(fall_se ^ 2 + fall_tau2)) as p_fall,
        stats.normal_sf(spike / sqrt(spike_se ^ 2 + spike_tau2)) as p_spike
    from ranked
),

framed as (
    select
        school_years.*,
        params.alpha_family,
        params.top_share,
        params.single_year_top,
        params.single_year_min_n,
        params.rule_version,
        scored.n_cells,
        scored.n_used,
        scored.gain,
        scored.fall,
        scored.spike,
        scored.gain_rank,
        scored.next_gain_rank,
        scored.score_rank,
        scored.p_gain,
        scored.p_fall,
        scored.p_spike,
        -- both neighbouring years: the Jacob–Levitt score; one of them: that year's change alone
        case
            when scored.spike is not null then 'both'
            when scored.gain is not null then 'previous'
            when scored.fall is not null then 'next'
        end as years_used,
        case
            when scored.gain is null and scored.fall is null
                then
                    'нет результатов ' || (school_years.school_year - 1) || ' и ' || (school_years.school_year + 1)
                    || ' годов в тех же классах (' || params.min_n || ' участников и больше)'
        end as cell_reason
    from school_years
    inner join params on school_years.school_year = params.school_year
    left join scored
        on
            school_years.school_id = scored.school_id
            and school_years.school_year = scored.school_year
            and school_years.subject_code = scored.subject_code
),

check_rows as (
    select
        school_id,
        school_year,
        'vpr' as procedure_code,
        subject_code,
        0 as grade,
        'O5' as check_code,
        case when years_used in ('previous', 'next') then 'single_year' else 'main' end as sub_check,
        case when all_individual then 'individual' else 'aggregated' end as data_basis,
        coalesce(n_used, n_participants) as n_participants,
        -- the rule compares a rank with its threshold, so the effect is that rank (the gain and fall in SD are in
        -- the explanation)
        case years_used when 'both' then score_rank when 'previous' then gain_rank else 1 - next_gain_rank end
            as effect,
        case
            when years_used = 'both' then 'доля школ региона с меньшим показателем «рост, затем падение»'
            when years_used = 'previous' then 'доля школ региона с меньшим ростом за год'
            else 'доля школ региона с меньшим падением на следующий год'
        end as effect_unit,
        case when years_used = 'both' then 1 - top_share else 1 - single_year_top end as threshold,
        '≥' as comparison,
        0::double precision as region_value,
        case
            when cell_reason is null then
                case years_used when 'both' then p_spike when 'previous' then p_gain else p_fall end
        end as p_value,
        case years_used when 'both' then score_rank when 'previous' then gain_rank else 1 - next_gain_rank end
            as percentile,
        rule_version,
        case
            when years_used = 'both'
                then
                    'Рост относительно региона за год ' || {{ ru_num('gain', 2) }} || ' ст. откл. (ранг '
                    || {{ ru_num('100 * gain_rank', 0) }} || ' %), через год падение ' || {{ ru_num('fall', 2) }}
                    || ' ст. откл.; показатель «рост, затем падение» выше, чем у '
                    || {{ ru_num('100 * score_rank', 0) }}
                    || ' % школ (порог '
                    || {{ ru_num('100 * (1 - top_share)', 0) }}
                    || ' %); всплеск над соседними годами '
                    || {{ ru_num('spike / 2', 2) }}
                    || ' ст. откл. по '
                    || n_cells
                    || ' ячейкам, '
                    || {{ ru_p('p_spike') }}
            when years_used = 'previous'
                then
                    'Рост относительно региона за год ' || {{ ru_num('gain', 2) }} || ' ст. откл. (ранг '
                    || {{ ru_num('100 * gain_rank', 0) }} || ' %); следующего года нет: порог ранга '
                    || {{ ru_num('100 * (1 - single_year_top)', 0) }} || ' % при ' || single_year_min_n
                    || ' участниках и больше; ' || {{ ru_p('p_gain') }}
            when years_used = 'next' then
                'Падение относительно региона на следующий год ' || {{ ru_num('fall', 2) }} || ' ст. откл. (ранг '
                || {{ ru_num('100 * (1 - next_gain_rank)', 0) }} || ' %); прошлого года нет: порог ранга '
                || {{ ru_num('100 * (1 - single_year_top)', 0) }} || ' % при ' || single_year_min_n
                || ' участниках и больше; ' || {{ ru_p('p_fall') }}
        end as explanation,
        cell_reason as insufficient_reason,
        'недостаточно данных' as insufficient_status,
        case years_used
            when 'both' then score_rank >= 1 - top_share
            when 'previous' then gain_rank >= 1 - single_year_top and n_used >= single_year_min_n
            when 'next' then 1 - next_gain_rank >= 1 - single_year_top and n_used >= single_year_min_n
            else false
        end as rule_fires,
        alpha_family as alpha
    from framed
)

{{ objectivity_finalize('check_rows') }}
