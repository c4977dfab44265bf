{{ config(materialized='table') }}
-- O4 — ВПР vs the class register (ВСОКО; ФИОКО). Per ВПР cell: «Повысили» (ВПР mark above the register mark,
-- sub_check raised: possible ВПР inflation), «Понизили» (below, sub_check lowered: inflated register marks) and
-- gaps of two marks or more (sub_check gap2, pupil rows only). Counts come from the pupils' rows (mark vs
-- journal_mark; a work without a register mark is left out, as ФИС ОКО does) where the school sent them, else
-- from the ФИС ОКО report «Сравнение отметок с отметками по журналу». Percentile rules flag a fixed share of
-- honest cells, so each needs a one-sided binomial test against the rate expected for the school's ВПР marks
-- (the region's rate per mark, weighted by the school's mark shares; raised, lowered) or the threshold share
-- (gap2, if higher), Holm within the school-year.
with params as (
    {{ objectivity_parameters('O4', [
        'min_n', 'alpha_family', 'raised_percentile', 'lowered_share', 'lowered_percentile', 'gap2_share'
    ]) }}
),

cells as (
    select
        school_id,
        school_year,
        subject_code,
        grade,
        result_source,
        share_mark_2 / 100.0 as share_2,
        share_mark_3 / 100.0 as share_3,
        share_mark_4 / 100.0 as share_4,
        share_mark_5 / 100.0 as share_5
    from {{ ref('int_school_results') }}
    where procedure_code = 'vpr'
),

by_mark as (
    -- the region's rates per ВПР mark, from every pupil row: a school's expected «Повысили» / «Понизили»
    -- depends on its marks (no «Повысили» is possible at «2», no «Понизили» at «5» when the register is
    -- honest), so low and high schools are compared with schools of the same marks, not with the region's mean
    select
        school_year,
        subject_code,
        grade,
        mark,
        avg((mark > journal_mark)::integer) as rate_raised,
        avg((mark < journal_mark)::integer) as rate_lowered,
        avg((abs(mark - journal_mark) >= 2)::integer) as rate_gap2
    from {{ ref('stg_fis_oko__vpr_results') }}
    where mark between 2 and 5 and journal_mark between 2 and 5
    group by school_year, subject_code, grade, mark
),

expected as (
    select
        cells.school_id,
        cells.school_year,
        cells.subject_code,
        cells.grade,
        -- null when a mark present in the school has no rate in the region
        sum(mark_mix.mark_share * by_mark.rate_raised) as expected_raised,
        sum(mark_mix.mark_share * by_mark.rate_lowered) as expected_lowered,
        sum(mark_mix.mark_share * by_mark.rate_gap2) as expected_gap2,
        bool_and(by_mark.mark is not null or mark_mix.mark_share = 0) as is_complete
    from cells
    cross join
        lateral (
            values (2, cells.share_2), (3, cells.share_3), (4, cells.share_4), (5, cells.share_5)
        ) as mark_mix (mark_value, mark_share)
    left join by_mark
        on
            cells.school_year = by_mark.school_year
            and cells.subject_code = by_mark.subject_code
            and cells.grade = by_mark.grade
            and mark_mix.mark_value = by_mark.mark
    group by cells.school_id, cells.school_year, cells.subject_code, cells.grade
),

pupil_counts as (
    select
        school_id,
        school_year,
        subject_code,
        grade,
        count(*) as n_total,
        count(*) filter (where mark > journal_mark) as n_raised,
        count(*) filter (where mark < journal_mark) as n_lowered,
        count(*) filter (where abs(mark - journal_mark) >= 2) as n_gap2
    from {{ ref('stg_fis_oko__vpr_results') }}
    where mark is not null and journal_mark between 2 and 5
    group by school_id, school_year, subject_code, grade
),

report_counts as (
    select
        school_id,
        school_year,
        subject_code,
        grade,
        n_total,
        n_raised,
        n_lowered
    from {{ ref('stg_fis_oko__vpr_journal_stats') }}
    where org_level = 'school'
),

counts as (
    select
        cells.school_id,
        cells.school_year,
        cells.subject_code,
        cells.grade,
        case
            when cells.result_source = 'individual' and pupil_counts.n_total is not null then 'individual'
            when report_counts.n_total is not null then 'aggregated'
            else 'none'
        end as data_basis,
        coalesce(pupil_counts.n_total, report_counts.n_total) as n_total,
        coalesce(pupil_counts.n_raised, report_counts.n_raised) as n_raised,
        coalesce(pupil_counts.n_lowered, report_counts.n_lowered) as n_lowered,
        -- gaps of two marks exist only in the pupils' rows
        case when cells.result_source = 'individual' then pupil_counts.n_gap2 end as n_gap2
    from cells
    left join pupil_counts
        on
            cells.result_source = 'individual'
            and cells.school_id = pupil_counts.school_id
            and cells.school_year = pupil_counts.school_year
            and cells.subject_code = pupil_counts.subject_code
            and cells.grade = pupil_counts.grade
    left join report_counts
        on
            cells.school_id = report_counts.school_id
            and cells.school_year = report_counts.school_year
            and cells.subject_code = report_counts.subject_code
            and cells.grade = report_counts.grade
),

computable as (
    select counts.*
    from counts
    inner join params on counts.school_year = params.school_year
    where counts.n_total >= params.min_n and counts.n_raised is not null and counts.n_lowered is not null
),

region as (
    -- the region's pooled counts and the percentiles of the school cells' shares, same year × subject × grade
    select
        computable.school_year,
        computable.subject_code,
        computable.grade,
        sum(computable.n_total) as n_total,
        sum(computable.n_raised) as n_raised,
        sum(computable.n_lowered) as n_lowered,
        sum(computable.n_gap2) as n_gap2,
        sum(computable.n_total) filter (where computable.n_gap2 is not null) as n_total_gap2,
        percentile_cont(params.raised_percentile) within group (
            order by computable.n_raised::double precision / computable.n_total
        ) as raised_cut,
        percentile_cont(params.lowered_percentile) within group (
            order by computable.n_lowered::double precision / computable.n_total
        ) as lowered_cut
    from computable
    inner join params on computable.school_year = params.school_year
    group by
        computable.school_year, computable.subject_code, computable.grade, params.raised_percentile,
        params.lowered_percentile
),

ranks as (
    select
        school_id,
        school_year,
        subject_code,
        grade,
        cume_dist() over (
            partition by school_year, subject_code, grade order by n_raised::double precision / n_total
        ) as raised_rank,
        cume_dist() over (
            partition by school_year, subject_code, grade order by n_lowered::double precision / n_total
        ) as lowered_rank
    from computable
),

framed as (
    select
        counts.*,
        params.min_n,
        params.alpha_family,
        params.raised_percentile,
        params.lowered_share,
        params.gap2_share,
        params.lowered_percentile,
        params.rule_version,
        region.raised_cut,
        region.lowered_cut,
        ranks.raised_rank,
        ranks.lowered_rank,
        -- the region's rate for the school's marks; without pupil rows in the region (or the school's marks), the
        -- other schools' pooled rate (leave-one-out: the school is not its own reference)
        case
            when expected.is_complete then expected.expected_raised else
                (region.n_raised - counts.n_raised)::double precision / nullif(region.n_total - counts.n_total, 0)
        end as region_raised,
        case
            when expected.is_complete then expected.expected_lowered else
                (region.n_lowered - counts.n_lowered)::double precision / nullif(region.n_total - counts.n_total, 0)
        end as region_lowered,
        case
            when expected.is_complete then expected.expected_gap2 else
                (region.n_gap2 - counts.n_gap2)::double precision / nullif(region.n_total_gap2 - counts.n_total, 0)
        end as region_gap2,
        case
            when counts.data_basis = 'none' then 'нет отчёта о сравнении отметок ВПР с отметками по журналу'
            when counts.n_total is null or counts.n_total < params.min_n
                then
                    'участников с отметкой по журналу ' || coalesce(counts.n_total, 0)
                    || ' (меньше ' || params.min_n || ')'
            when counts.n_raised is null or counts.n_lowered is null
                then 'в отчёте не указаны числа «Понизили» и «Повысили»'
            when region.n_total - counts.n_total <= 0 then 'нет других школ региона для сравнения'
        end as cell_reason
    from counts
    inner join params on counts.school_year = params.school_year
    left join region
        on
            counts.school_year = region.school_year
            and counts.subject_code = region.subject_code
            and counts.grade = region.grade
    left join expected
        on
            counts.school_id = expected.school_id
            and counts.school_year = expected.school_year
            and counts.subject_code = expected.subject_code
            and counts.grade = expected.grade
    left join ranks
        on
            counts.school_id = ranks.school_id
            and counts.school_year = ranks.school_year
            and counts.subject_code = ranks.subject_code
            and counts.grade = ranks.grade
),

raised as (
    select
        school_id,
        school_year,
        'vpr' as procedure_code,
        subject_code,
        grade,
        'O4' as check_code,
        'raised' as sub_check,
        data_basis,
        n_total as n_participants,
        100.0 * n_raised / nullif(n_total, 0) as effect,
        '% «Повысили»' as effect_unit,
        100 * raised_cut as threshold,
        '>' as comparison,
        100 * region_raised as region_value,
        case when cell_reason is null then stats.binom_sf(n_raised, n_total, region_raised) end as p_value,
        raised_rank as percentile,
        rule_version,
        case
            when cell_reason is null then
                'Повысили (отметка ВПР выше отметки по журналу) ' || {{ ru_num('100.0 * n_raised / n_total') }}
                || ' % (' || n_raised || ' из ' || n_total || ') при ' || {{ ru_num('100 * region_raised') }}
                || ' % ожидаемых по региону при тех же отметках ВПР; '
                || {{ ru_num('100 * raised_percentile', 0) }}
                || '-й процентиль школ региона '
                || {{ ru_num('100 * raised_cut') }}
                || ' %; '
                || {{ ru_p('stats.binom_sf(n_raised, n_total, region_raised)') }}
        end as explanation,
        cell_reason as insufficient_reason,
        'недостаточно данных' as insufficient_status,
        n_raised::double precision / nullif(n_total, 0) > raised_cut as rule_fires,
        alpha_family as alpha
    from framed
),

lowered as (
    select
        school_id,
        school_year,
        'vpr' as procedure_code,
        subject_code,
        grade,
        'O4' as check_code,
        'lowered' as sub_check,
        data_basis,
        n_total as n_participants,
        100.0 * n_lowered / nullif(n_total, 0) as effect,
        '% «Понизили»' as effect_unit,
        100 * least(lowered_share, lowered_cut) as threshold,
        '≥' as comparison,
        100 * region_lowered as region_value,
        case when cell_reason is null then stats.binom_sf(n_lowered, n_total, region_lowered) end as p_value,
        lowered_rank as percentile,
        rule_version,
        case
            when cell_reason is null then
                'Понизили (отметка ВПР ниже отметки по журналу) ' || {{ ru_num('100.0 * n_lowered / n_total') }}
                || ' % (' || n_lowered || ' из ' || n_total || ') при ' || {{ ru_num('100 * region_lowered') }}
                || ' % ожидаемых по региону при тех же отметках ВПР; порог '
                || {{ ru_num('100 * least(lowered_share, lowered_cut)') }}
                || ' %; '
                || {{ ru_p('stats.binom_sf(n_lowered, n_total, region_lowered)') }}
        end as explanation,
        cell_reason as insufficient_reason,
        'недостаточно данных' as insufficient_status,
        n_lowered::double precision / nullif(n_total, 0) >= least(lowered_share, lowered_cut) as rule_fires,
        alpha_family as alpha
    from framed
),

gap2_framed as (
    select
        *,
        case
            when cell_reason is not null then cell_reason
            when data_basis <> 'individual' or n_gap2 is null
                then 'нужны работы участников: школа сдала только сводные отчёты'
        end as gap2_reason,
        greatest(gap2_share, coalesce(region_gap2, 0)) as gap2_null
    from framed
),

gap2 as (
    select
        school_id,
        school_year,
        'vpr' as procedure_code,
        subject_code,
        grade,
        'O4' as check_code,
        'gap2' as sub_check,
        data_basis,
        n_total as n_participants,
        100.0 * n_gap2 / nullif(n_total, 0) as effect,
        '% работ с расхождением на 2 отметки и более' as effect_unit,
        100 * gap2_share as threshold,
        '>' as comparison,
        100 * region_gap2 as region_value,
        case when gap2_reason is null then stats.binom_sf(n_gap2, n_total, gap2_null) end as p_value,
        null::double precision as percentile,
        rule_version,
        case
            when gap2_reason is null then
                'Отметка ВПР и отметка по журналу различаются на 2 и более у '
                || {{ ru_num('100.0 * n_gap2 / n_total') }}
                || ' % работ (' || n_gap2 || ' из ' || n_total || ') при пороге '
                || {{ ru_num('100 * gap2_share') }} || ' % и '
                || coalesce({{ ru_num('100 * region_gap2') }} || ' % по региону', 'нет данных по региону')
                || '; ' || {{ ru_p('stats.binom_sf(n_gap2, n_total, gap2_null)') }}
        end as explanation,
        gap2_reason as insufficient_reason,
        'недостаточно данных' as insufficient_status,
        n_gap2::double precision / nullif(n_total, 0) > gap2_share as rule_fires,
        alpha_family as alpha
    from gap2_framed
),

school_totals as (
    -- the school-year over all its computable cells: a register or a marking habit spans several cells, and a small
    -- school shows it only when its cells are taken together (the expected count is the sum of the cells')
    select
        school_id,
        school_year,
        bool_and(data_basis = 'individual') as all_individual,
        count(*) as n_cells,
        sum(n_total) as n_total,
        sum(n_raised) as n_raised,
        sum(n_lowered) as n_lowered,
        sum(n_total * region_raised) / sum(n_total) as region_raised,
        sum(n_total * region_lowered) / sum(n_total) as region_lowered,
        max(alpha_family) as alpha_family,
        max(raised_percentile) as raised_percentile,
        max(lowered_percentile) as lowered_percentile,
        max(lowered_share) as lowered_share,
        max(rule_version) as rule_version
    from framed
    where cell_reason is null
    group by school_id, school_year
),

school_cuts as (
    select
        school_year,
        percentile_cont(raised_percentile) within group (order by n_raised::double precision / n_total) as raised_cut,
        percentile_cont(lowered_percentile) within group (order by n_lowered::double precision / n_total)
            as lowered_cut
    from school_totals
    group by school_year, raised_percentile, lowered_percentile
),

school_ranked as (
    select
        school_totals.*,
        school_cuts.raised_cut,
        school_cuts.lowered_cut,
        cume_dist() over (
            partition by school_totals.school_year
            order by school_totals.n_raised::double precision / school_totals.n_total
        ) as raised_rank,
        cume_dist() over (
            partition by school_totals.school_year
            order by school_totals.n_lowered::double precision / school_totals.n_total
        ) as lowered_rank
    from school_totals
    inner join school_cuts on school_totals.school_year = school_cuts.school_year
),

school_years as (
    -- every school-year with ВПР cells; those without a computable cell say why
    select distinct
        counts.school_id,
        counts.school_year
    from counts
),

pooled_framed as (
    select
        school_years.school_id,
        school_years.school_year,
        school_ranked.all_individual,
        school_ranked.n_cells,
        school_ranked.n_total,
        school_ranked.n_raised,
        school_ranked.n_lowered,
        school_ranked.region_raised,
        school_ranked.region_lowered,
        school_ranked.raised_cut,
        school_ranked.lowered_cut,
        school_ranked.raised_rank,
        school_ranked.lowered_rank,
        school_ranked.lowered_share,
        coalesce(school_ranked.alpha_family, params.alpha_family) as alpha_family,
        coalesce(school_ranked.rule_version, params.rule_version) as rule_version,
        case
            when school_ranked.school_id is null
                then 'нет ни одной ячейки с ' || params.min_n || ' участниками с отметкой по журналу и больше'
        end as cell_reason
    from school_years
    inner join params on school_years.school_year = params.school_year
    left join school_ranked
        on school_years.school_id = school_ranked.school_id and school_years.school_year = school_ranked.school_year
),

pooled_rows as (
    select
        pooled_framed.school_id,
        pooled_framed.school_year,
        'vpr' as procedure_code,
        'all' as subject_code,
        0 as grade,
        'O4' as check_code,
        direction.sub_check,
        case
            when pooled_framed.cell_reason is not null then 'none'
            when pooled_framed.all_individual then 'individual'
            else 'aggregated'
        end as data_basis,
        pooled_framed.n_total as n_participants,
        100.0 * direction.k / nullif(pooled_framed.n_total, 0) as effect,
        direction.unit as effect_unit,
        100 * direction.cut as threshold,
        direction.comparison,
        100 * direction.expected as region_value,
        case
            when
                pooled_framed.cell_reason is null
                then stats.binom_sf(direction.k, pooled_framed.n_total, direction.expected)
        end as p_value,
        direction.share_rank as percentile,
        pooled_framed.rule_version,
        case
            when pooled_framed.cell_reason is null then
                direction.group_label
                || ' по всем '
                || pooled_framed.n_cells
                || ' ячейкам школы: '
                || {{ ru_num('100.0 * direction.k / n_total') }}
                || ' % ('
                || direction.k
                || ' из '
                || pooled_framed.n_total
                || ') при '
                || {{ ru_num('100 * direction.expected') }}
                || ' % ожидаемых по региону при тех же отметках ВПР; порог по школам региона '
                || {{ ru_num('100 * direction.cut') }} || ' %; '
                || {{ ru_p('stats.binom_sf(direction.k, pooled_framed.n_total, direction.expected)') }}
        end as explanation,
        pooled_framed.cell_reason as insufficient_reason,
        'недостаточно данных' as insufficient_status,
        case
            when
                direction.comparison = '>'
                then direction.k::double precision / nullif(pooled_framed.n_total, 0) > direction.cut
            else direction.k::double precision / nullif(pooled_framed.n_total, 0) >= direction.cut
        end as rule_fires,
        pooled_framed.alpha_family as alpha
    from pooled_framed
    cross join lateral (
        values
        (
            'raised_all', pooled_framed.n_raised, pooled_framed.region_raised, pooled_framed.raised_cut,
            pooled_framed.raised_rank, '>', '% «Повысили»', 'Повысили'
        ),
        (
            'lowered_all', pooled_framed.n_lowered, pooled_framed.region_lowered,
            least(pooled_framed.lowered_share, pooled_framed.lowered_cut), pooled_framed.lowered_rank, '≥',
            '% «Понизили»', 'Понизили'
        )
    ) as direction (sub_check, k, expected, cut, share_rank, comparison, unit, group_label)
),

check_rows as (
    select * from raised
    union all
    select * from lowered
    union all
    select * from gap2
    union all
    select * from pooled_rows
)

{{ objectivity_finalize('check_rows') }}
