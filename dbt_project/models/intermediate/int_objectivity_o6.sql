{{ config(materialized='table') }}
-- O6 — cohort inconsistency. Per ВПР cell (year t, grade g): the same school's cohort a year later (ВПР grade
-- g + 1, or ОГЭ for ВПР grade 8; cross-cohort noise aside, largely the same pupils). The rule: the cohort was at
-- least prior_min_sd above the region (z) in year t and falls by at least drop_sd by year t + 1. The flag
-- belongs to year t, the suspect high year. Small cells fall that far by chance, so the fall must also be
-- significant: one-sided Welch test of the two z-scaled means (the pupils' variances on the same scale, plus the
-- region's year-to-year variance of cohorts, τ²), Holm within the school-year.
with params as (
    {{ objectivity_parameters('O6', ['min_n', 'alpha_family', 'drop_sd', 'prior_min_sd']) }}
),

cells as (
    select
        school_id,
        school_year,
        subject_code,
        grade,
        result_source,
        n_participants,
        is_consistent,
        data_issue,
        mean_score_100
    from {{ ref('int_school_results') }}
    where procedure_code = 'vpr'
),

z as (
    select * from {{ ref('int_objectivity_school_z') }}
),

joined as (
    select
        cells.*,
        params.min_n,
        params.alpha_family,
        params.drop_sd,
        params.prior_min_sd,
        params.rule_version,
        this_year.z,
        this_year.z_variance,
        next_year.procedure_code as next_procedure,
        next_year.grade as next_grade,
        next_year.z as next_z,
        next_year.z_variance as next_z_variance,
        next_year.n_participants as next_n,
        this_year.z - next_year.z as drop_z,
        this_year.z_variance / this_year.n_participants
        + next_year.z_variance / next_year.n_participants as drop_sampling_variance,
        case
            when cells.data_issue is not null then cells.data_issue
            when cells.n_participants < params.min_n
                then 'участников ВПР ' || cells.n_participants || ' (меньше ' || params.min_n || ')'
            when this_year.z is null then 'нет среднего балла ячейки или его разброса'
            when next_year.z is null
                then
                    'нет результатов той же параллели в ' || (cells.school_year + 1) || ' году ('
                    || case when cells.grade = 8 then 'ОГЭ, 9 класс' else 'ВПР, ' || (cells.grade + 1) || ' класс' end
                    || ', ' || params.min_n || ' участников и больше)'
        end as cell_reason
    from cells
    inner join params on cells.school_year = params.school_year
    left join z as this_year
        on
            this_year.procedure_code = 'vpr'
            and cells.school_id = this_year.school_id
            and cells.school_year = this_year.school_year
            and cells.subject_code = this_year.subject_code
            and cells.grade = this_year.grade
    -- the cohort a year later: ВПР grade + 1, or ОГЭ after ВПР grade 8
    left join z as next_year
        on
            cells.school_id = next_year.school_id
            and next_year.school_year = cells.school_year + 1
            and cells.subject_code = next_year.subject_code
            and next_year.grade = cells.grade + 1
            and next_year.procedure_code = case when cells.grade = 8 then 'oge' else 'vpr' end
),

centres as (
    select
        school_year,
        subject_code,
        grade,
        percentile_cont(0.5) within group (order by drop_z) as drop_median,
        percentile_cont(0.5) within group (order by drop_sampling_variance) as sampling_variance_median
    from joined
    where drop_z is not null
    group by school_year, subject_code, grade
),

spreads as (
    -- cohorts move between years beyond the sampling of pupils (new teachers, pupils who leave): the excess
    -- variance τ² of the region's drops over their sampling variance (1.4826 × MAD, robust to the few inflated
    -- cells) is split between the two means, so the test asks whether the fall is unusual among schools
    select
        joined.school_year,
        joined.subject_code,
        joined.grade,
        greatest(0, (1.4826 * percentile_cont(0.5) within group (
            order by abs(joined.drop_z - centres.drop_median)
        )) ^ 2 - max(centres.sampling_variance_median)) as tau2
    from joined
    inner join centres
        on
            joined.school_year = centres.school_year
            and joined.subject_code = centres.subject_code
            and joined.grade = centres.grade
    where joined.drop_z is not null
    group by joined.school_year, joined.subject_code, joined.grade
),

framed as (
    select
        joined.*,
        stats.welch_p(
            joined.z, joined.z_variance + joined.n_participants * spreads.tau2 / 2, joined.n_participants,
            joined.next_z, joined.next_z_variance + joined.next_n * spreads.tau2 / 2, joined.next_n
        ) as welch_two_sided
    from joined
    left join spreads
        on
            joined.school_year = spreads.school_year
            and joined.subject_code = spreads.subject_code
            and joined.grade = spreads.grade
),

check_rows as (
    select
        school_id,
        school_year,
        'vpr' as procedure_code,
        subject_code,
        grade,
        'O6' as check_code,
        'main' as sub_check,
        case when result_source = 'individual' then 'individual' else 'aggregated' end as data_basis,
        n_participants,
        drop_z as effect,
        'станд. откл. падения относительно региона через год' as effect_unit,
        drop_sd as threshold,
        '≥' as comparison,
        0::double precision as region_value,
        -- one-sided: the fall, not any change
        case
            when cell_reason is null then
                case when drop_z > 0 then welch_two_sided / 2 else 1 - welch_two_sided / 2 end
        end as p_value,
        null::double precision as percentile,
        rule_version,
        case
            when cell_reason is null then
                'Уровень относительно региона ' || {{ ru_num('z', 2) }} || ' ст. откл. в ' || school_year || ' году, '
                || {{ ru_num('next_z', 2) }} || ' через год ('
                || case when next_procedure = 'oge' then 'ОГЭ' else 'ВПР' end || ', ' || next_grade || ' класс): '
                || case when drop_z >= 0 then 'падение на ' else 'рост на ' end || {{ ru_num('abs(drop_z)', 2) }}
                || ' (порог: уровень от ' || {{ ru_num('prior_min_sd') }} || ', падение от ' || {{ ru_num('drop_sd') }}
                || '); ' || {{ ru_p('case when drop_z > 0 then welch_two_sided / 2 else 1 - welch_two_sided / 2 end') }}
        end as explanation,
        coalesce(
            cell_reason, case when welch_two_sided is null then 'баллы без разброса: падение нельзя проверить' end
        ) as insufficient_reason,
        'недостаточно данных' as insufficient_status,
        z >= prior_min_sd and drop_z >= drop_sd as rule_fires,
        alpha_family as alpha
    from framed
)

{{ objectivity_finalize('check_rows') }}
