{{ config(materialized='table') }}
-- O9 — implausibly uniform results. Per ВПР cell: the pupils' variance of the score against the variance expected
-- for a cell of its level: the pooled within-cell variance of the other region cells of the same year × subject ×
-- grade in the same group by mean score (peer_groups groups; the spread shrinks near the floor and ceiling of the
-- scale). The rule: the ratio of SDs is in the region's bottom bottom_share. A bottom-share rule flags that share
-- of honest cells by construction, so the variance must also be significantly low: (n − 1) s² / σ² against
-- χ²(n − 1), lower tail, Holm within the school-year.
with params as (
    {{ objectivity_parameters('O9', ['min_n', 'alpha_family', 'bottom_share', 'peer_groups']) }}
),

cells as (
    select
        school_id,
        school_year,
        subject_code,
        grade,
        result_source,
        n_participants,
        mean_score_100::double precision as mean_score_100,
        score_variance::double precision as score_variance,
        data_issue
    from {{ ref('int_school_results') }}
    where procedure_code = 'vpr'
),

usable as (
    select
        cells.*,
        ntile(params.peer_groups::integer) over (
            partition by cells.school_year, cells.subject_code, cells.grade order by cells.mean_score_100
        ) as peer_group
    from cells
    inner join params on cells.school_year = params.school_year
    where
        cells.data_issue is null and cells.score_variance is not null
        and cells.n_participants >= params.min_n
),

peers as (
    select
        school_year,
        subject_code,
        grade,
        peer_group,
        sum((n_participants - 1) * score_variance) as sum_squares,
        sum(n_participants - 1) as degrees
    from usable
    group by school_year, subject_code, grade, peer_group
),

ratios as (
    select
        usable.*,
        -- leave-one-out pooled variance of the peers
        (peers.sum_squares - (usable.n_participants - 1) * usable.score_variance)
        / nullif(peers.degrees - (usable.n_participants - 1), 0) as peer_variance
    from usable
    inner join peers
        on
            usable.school_year = peers.school_year
            and usable.subject_code = peers.subject_code
            and usable.grade = peers.grade
            and usable.peer_group = peers.peer_group
),

ranked as (
    select
        *,
        sqrt(score_variance / nullif(peer_variance, 0)) as sd_ratio,
        cume_dist() over (
            partition by school_year, subject_code, grade order by score_variance / nullif(peer_variance, 0)
        ) as ratio_rank
    from ratios
    where peer_variance > 0
),

cuts as (
    select
        ranked.school_year,
        ranked.subject_code,
        ranked.grade,
        percentile_cont(params.bottom_share) within group (order by ranked.sd_ratio) as ratio_cut
    from ranked
    inner join params on ranked.school_year = params.school_year
    group by ranked.school_year, ranked.subject_code, ranked.grade, params.bottom_share
),

framed as (
    select
        cells.*,
        params.min_n,
        params.alpha_family,
        params.bottom_share,
        params.rule_version,
        ranked.peer_variance,
        ranked.sd_ratio,
        ranked.ratio_rank,
        cuts.ratio_cut,
        stats.chi2_cdf(
            (cells.n_participants - 1) * cells.score_variance / ranked.peer_variance, cells.n_participants - 1
        ) as p_low,
        case
            when cells.data_issue is not null then cells.data_issue
            when cells.n_participants < params.min_n
                then 'участников ВПР ' || cells.n_participants || ' (меньше ' || params.min_n || ')'
            when cells.score_variance is null then 'нет распределения баллов: разброс не рассчитать'
            when ranked.peer_variance is null then 'нет школ того же уровня в регионе для сравнения разброса'
        end as cell_reason
    from cells
    inner join params on cells.school_year = params.school_year
    left join ranked
        on
            cells.school_id = ranked.school_id
            and cells.school_year = ranked.school_year
            and cells.subject_code = ranked.subject_code
            and cells.grade = ranked.grade
    left join cuts
        on
            cells.school_year = cuts.school_year
            and cells.subject_code = cuts.subject_code
            and cells.grade = cuts.grade
),

check_rows as (
    select
        school_id,
        school_year,
        'vpr' as procedure_code,
        subject_code,
        grade,
        'O9' as check_code,
        'main' as sub_check,
        case when result_source = 'individual' then 'individual' else 'aggregated' end as data_basis,
        n_participants,
        sd_ratio as effect,
        'отношение разброса баллов к ожидаемому' as effect_unit,
        ratio_cut as threshold,
        '≤' as comparison,
        sqrt(peer_variance) as region_value,
        case when cell_reason is null then p_low end as p_value,
        ratio_rank as percentile,
        rule_version,
        case
            when cell_reason is null then
                'Стандартное отклонение балла (из 100) ' || {{ ru_num('sqrt(score_variance)') }} || ' при ожидаемом '
                || {{ ru_num('sqrt(peer_variance)') }}
                || ' у школ того же уровня: отношение '
                || {{ ru_num('sd_ratio', 2) }}
                || ' (' || {{ ru_num('100 * bottom_share', 0) }} || ' % ячеек региона — не выше '
                || {{ ru_num('ratio_cut', 2) }} || '); ' || {{ ru_p('p_low') }}
        end as explanation,
        cell_reason as insufficient_reason,
        'недостаточно данных' as insufficient_status,
        sd_ratio <= ratio_cut as rule_fires,
        alpha_family as alpha
    from framed
)

{{ objectivity_finalize('check_rows') }}
