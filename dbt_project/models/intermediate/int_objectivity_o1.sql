{{ config(materialized='table') }}
-- O1 — ВПР far above the region and not confirmed by ГИА (Рособрнадзор 2017–18). Per ВПР cell: the share of
-- «4» and «5» against the region's (the other schools' pooled share, same year × subject × grade). The rule:
-- the gap is at least quality_gap_pp, the school is not a лицей/гимназия/УИОП, and its ОГЭ share of «4» and «5»
-- in the subject (the same year, else the latest of gia_lookback_years before) is not above the region's.
-- A 20 p.p. gap in a cell of 10–20 pupils is often chance, so the quality count must also exceed the region's
-- share in a one-sided binomial test (Holm within the school-year). Without the school's ОГЭ the check is not
-- decided: «недостаточно данных», never «нет признаков».
with params as (
    {{ objectivity_parameters('O1', ['min_n', 'alpha_family', 'quality_gap_pp', 'gia_lookback_years']) }}
),

results as (
    select
        procedure_code,
        school_id,
        school_year,
        subject_code,
        grade,
        result_source,
        n_participants,
        share_quality,
        is_consistent,
        data_issue,
        -- the count behind the share (a report gives the share to 0.01 %)
        round(share_quality * n_participants / 100.0) as n_quality
    from {{ ref('int_school_results') }}
    where procedure_code in ('vpr', 'oge')
),

usable as (
    select results.*
    from results
    inner join params on results.school_year = params.school_year
    where results.is_consistent and results.share_quality is not null and results.n_participants >= params.min_n
),

region as (
    select
        procedure_code,
        school_year,
        subject_code,
        grade,
        sum(n_quality) as n_quality,
        sum(n_participants) as n_participants
    from usable
    group by procedure_code, school_year, subject_code, grade
),

oge_gaps as (
    -- the school's ОГЭ share of «4» and «5» minus the other schools' share, per year and subject
    select
        usable.school_id,
        usable.school_year,
        usable.subject_code,
        usable.n_participants,
        usable.share_quality,
        100.0 * (region.n_quality - usable.n_quality) / nullif(region.n_participants - usable.n_participants, 0)
            as region_quality
    from usable
    inner join region
        on
            usable.procedure_code = region.procedure_code
            and usable.school_year = region.school_year
            and usable.subject_code = region.subject_code
            and usable.grade = region.grade
    where usable.procedure_code = 'oge' and usable.grade = 9
),

vpr_cells as (
    select
        results.*,
        params.min_n,
        params.alpha_family,
        params.quality_gap_pp,
        params.gia_lookback_years,
        params.rule_version,
        coalesce(schools.advanced_study, false) as advanced_study,
        (region.n_quality - results.n_quality)::double precision
        / nullif(region.n_participants - results.n_participants, 0) as region_share
    from results
    inner join params on results.school_year = params.school_year
    left join {{ ref('dim_school') }} as schools on results.school_id = schools.school_id
    left join region
        on
            results.procedure_code = region.procedure_code
            and results.school_year = region.school_year
            and results.subject_code = region.subject_code
            and results.grade = region.grade
    where results.procedure_code = 'vpr'
),

latest_oge as (
    -- per ВПР cell the school's ОГЭ in the subject: the same year, else the latest year within the look-back
    -- (an equi-join on school and subject, then the latest year: no per-row subquery)
    select distinct on (vpr_cells.school_id, vpr_cells.school_year, vpr_cells.subject_code)
        vpr_cells.school_id,
        vpr_cells.school_year,
        vpr_cells.subject_code,
        oge_gaps.school_year as oge_year,
        oge_gaps.share_quality as oge_share,
        oge_gaps.region_quality as oge_region_share
    from (
        select distinct
            school_id,
            school_year,
            subject_code,
            gia_lookback_years
        from vpr_cells
    ) as vpr_cells
    inner join oge_gaps
        on
            vpr_cells.school_id = oge_gaps.school_id
            and vpr_cells.subject_code = oge_gaps.subject_code
            and oge_gaps.school_year between vpr_cells.school_year - vpr_cells.gia_lookback_years
            and vpr_cells.school_year
    where oge_gaps.region_quality is not null
    order by vpr_cells.school_id asc, vpr_cells.school_year asc, vpr_cells.subject_code asc, oge_gaps.school_year desc
),

with_oge as (
    select
        vpr_cells.*,
        latest_oge.oge_year,
        latest_oge.oge_share,
        latest_oge.oge_region_share
    from vpr_cells
    left join latest_oge
        on
            vpr_cells.school_id = latest_oge.school_id
            and vpr_cells.school_year = latest_oge.school_year
            and vpr_cells.subject_code = latest_oge.subject_code
),

framed as (
    select
        *,
        100 * (share_quality / 100.0 - region_share) as gap_pp,
        case
            when data_issue is not null then data_issue
            when share_quality is null then 'нет долей отметок ВПР'
            when n_participants < min_n then 'участников ВПР ' || n_participants || ' (меньше ' || min_n || ')'
            when region_share is null then 'нет других школ региона для сравнения'
            -- a лицей/гимназия/УИОП is outside the rule whatever its ОГЭ
            when oge_year is null and not advanced_study
                then
                    'нет ОГЭ школы по предмету (' || min_n || ' участников и больше) за '
                    || (school_year - gia_lookback_years) || '–' || school_year
        end as cell_reason
    from with_oge
),

check_rows as (
    select
        school_id,
        school_year,
        procedure_code,
        subject_code,
        grade,
        'O1' as check_code,
        'main' as sub_check,
        case when result_source = 'individual' then 'individual' else 'aggregated' end as data_basis,
        n_participants,
        gap_pp as effect,
        'п.п. доли «4» и «5» выше региона' as effect_unit,
        quality_gap_pp as threshold,
        '≥' as comparison,
        100 * region_share as region_value,
        case when cell_reason is null then stats.binom_sf(n_quality, n_participants, region_share) end as p_value,
        null::double precision as percentile,
        rule_version,
        case
            when cell_reason is null then
                'Доля «4» и «5» на ВПР ' || {{ ru_num('share_quality') }} || ' % (' || n_quality::integer || ' из '
                || n_participants || ') при ' || {{ ru_num('100 * region_share') }} || ' % по региону: на '
                || {{ ru_num('gap_pp') }} || ' п.п. '
                || case when gap_pp >= 0 then 'выше' else 'ниже' end || ' (порог ' || {{ ru_num('quality_gap_pp', 0) }}
                || ' п.п.); '
                || case
                    when
                        advanced_study
                        then 'школа — лицей, гимназия или с углублённым изучением: правило не применяется'
                    else
                        'ОГЭ ' || oge_year || ': «4» и «5» ' || {{ ru_num('oge_share') }} || ' % при '
                        || {{ ru_num('oge_region_share') }} || ' % по региону ('
                        || case when oge_share <= oge_region_share then 'не выше региона' else 'выше региона' end || ')'
                end
                || '; ' || {{ ru_p('stats.binom_sf(n_quality, n_participants, region_share)') }}
        end as explanation,
        cell_reason as insufficient_reason,
        'недостаточно данных' as insufficient_status,
        gap_pp >= quality_gap_pp and not advanced_study and oge_share <= oge_region_share as rule_fires,
        alpha_family as alpha
    from framed
)

{{ objectivity_finalize('check_rows') }}
