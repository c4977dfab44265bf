{{ config(
    materialized='table',
    pre_hook="set local work_mem = '64MB'; set local enable_nestloop = off; set local enable_mergejoin = off"
) }}
-- O3 «пики у границ отметок»: too few pupils just below the cut scores of «3», «4», «5» and too many at them.
-- For each cut c the window is window_below scores below (c − w … c − 1) and as many from the cut up (c … c + w − 1);
-- k = pupils below the cut within the window, N = pupils in the window. The expected share below comes from peer
-- schools: the region's cells of the same test (year × subject × grade) in the same group (peer_deciles groups by
-- the cell's mean score), the school itself left out — a high or a low school's histogram slopes differently at
-- the cut, which the whole region's histogram would mistake for bunching. Deficit D = Σ(k − N·p) over cuts,
-- variance Σ N·p(1 − p)·(1 + N / N_peer) (the binomial plus the peers' own sampling error); z = (D + 0.5)/√V with
-- a continuity correction, p = Φ(z), one-sided (deficit). Rows per school-year: each cell ('cell'), each subject
-- pooled over its grades ('subject', grade 0), the whole school-year ('school_year', subject 'all', grade 0) —
-- bunching confined to one subject, or spread thinly over all cells, is then seen. Holm over these rows at
-- alpha_family. FIOKO's peak ratio N(c) / mean(N(c − 1), N(c − 2)) is shown, not tested (it fires in about one
-- honest cell-cut in seven at n ≈ 45).
with params as (
    {{ objectivity_parameters('O3', ['min_n', 'alpha_family', 'peak_ratio', 'window_below', 'peer_deciles']) }}
),

cells as (
    select
        school_id,
        school_year,
        subject_code,
        grade,
        result_source,
        n_participants
    from {{ ref('int_school_results') }}
    where procedure_code = 'vpr'
),

histograms as (
    select * from {{ ref('int_score_histograms') }}
),

cuts as (
    select
        params.school_year,
        scales.subject_code,
        scales.grade,
        scales.mark,
        scales.min_primary_score as cut
    from {{ ref('vpr_mark_scales') }} as scales
    inner join params on params.school_year between scales.valid_from and scales.valid_to
    where scales.mark >= 3
),

hist_cells as (
    select
        school_id,
        school_year,
        subject_code,
        grade,
        max(data_basis) as data_basis,
        max(n_participants) as n_hist,
        sum(pupils) as n_counted,
        max(max_score) as max_score,
        bool_and(distribution_ok) as distribution_ok,
        max(pct_total) as pct_total,
        sum(score * pupils)::double precision / nullif(sum(pupils), 0) as mean_score
    from histograms
    group by school_id, school_year, subject_code, grade
),

peer_groups as (
    select
        hist_cells.school_id,
        hist_cells.school_year,
        hist_cells.subject_code,
        hist_cells.grade,
        ntile(params.peer_deciles::integer) over (
            partition by hist_cells.school_year, hist_cells.subject_code, hist_cells.grade
            order by hist_cells.mean_score / nullif(hist_cells.max_score, 0), hist_cells.school_id
        ) as peer_group
    from hist_cells
    inner join params on hist_cells.school_year = params.school_year
    where hist_cells.distribution_ok and hist_cells.n_counted > 0
),

windows as (
    -- pupils below the cut and in the whole window, and the peak ratio's counts, per cell × cut, with the
    -- cell's peer group
    select
        histograms.school_id,
        histograms.school_year,
        histograms.subject_code,
        histograms.grade,
        peer_groups.peer_group,
        cuts.mark,
        cuts.cut,
        sum(histograms.pupils) filter (
            where histograms.score between cuts.cut - params.window_below and cuts.cut - 1
        ) as k_below,
        sum(histograms.pupils) filter (
            where histograms.score between cuts.cut - params.window_below and cuts.cut + params.window_below - 1
        ) as n_window,
        sum(histograms.pupils) filter (where histograms.score = cuts.cut) as n_at_cut,
        avg(histograms.pupils) filter (where histograms.score between cuts.cut - 2 and cuts.cut - 1) as mean_below2
    from histograms
    inner join peer_groups
        on
            histograms.school_id = peer_groups.school_id
            and histograms.school_year = peer_groups.school_year
            and histograms.subject_code = peer_groups.subject_code
            and histograms.grade = peer_groups.grade
    inner join params on histograms.school_year = params.school_year
    inner join cuts
        on
            histograms.school_year = cuts.school_year
            and histograms.subject_code = cuts.subject_code
            and histograms.grade = cuts.grade
    where histograms.distribution_ok and cuts.cut - params.window_below >= 0
    group by
        histograms.school_id, histograms.school_year, histograms.subject_code, histograms.grade,
        peer_groups.peer_group, cuts.mark, cuts.cut
),

peer_windows as (
    select
        school_year,
        subject_code,
        grade,
        peer_group,
        mark,
        sum(k_below) as k_peer,
        sum(n_window) as n_peer
    from windows
    group by school_year, subject_code, grade, peer_group, mark
),

cut_terms as (
    -- each cut's expected count below from the peers without the school itself
    select
        windows.*,
        (peer_windows.k_peer - windows.k_below)::double precision
        / nullif(peer_windows.n_peer - windows.n_window, 0) as p_peer,
        peer_windows.n_peer - windows.n_window as n_peer_loo
    from windows
    inner join peer_windows
        on
            windows.school_year = peer_windows.school_year
            and windows.subject_code = peer_windows.subject_code
            and windows.grade = peer_windows.grade
            and windows.peer_group = peer_windows.peer_group
            and windows.mark = peer_windows.mark
    where windows.n_window > 0 and peer_windows.n_peer - windows.n_window > 0
),

cell_terms as (
    select
        school_id,
        school_year,
        subject_code,
        grade,
        sum(k_below) as k_below,
        sum(n_window) as n_window,
        sum(n_window * p_peer) as expected_below,
        sum(n_window * p_peer * (1 - p_peer) * (1 + n_window::double precision / n_peer_loo)) as variance,
        max(n_at_cut / nullif(mean_below2, 0)) as peak_ratio_max,
        string_agg(mark || ': ' || k_below || ' из ' || n_window, '; ' order by mark) as per_cut
    from cut_terms
    group by school_id, school_year, subject_code, grade
),

framed as (
    -- every ВПР cell, with why it cannot be computed
    select
        cells.school_id,
        cells.school_year,
        cells.subject_code,
        cells.grade,
        case
            when hist_cells.school_id is null then 'none'
            when hist_cells.data_basis = 'individual' then 'individual'
            else 'aggregated'
        end as data_basis,
        coalesce(hist_cells.n_hist, cells.n_participants) as n_participants,
        cell_terms.k_below,
        cell_terms.n_window,
        cell_terms.expected_below,
        cell_terms.variance,
        cell_terms.peak_ratio_max,
        cell_terms.per_cut,
        case
            when hist_cells.school_id is null then 'нет распределения первичных баллов для ячейки'
            when coalesce(hist_cells.n_hist, 0) < params.min_n
                then 'участников ' || coalesce(hist_cells.n_hist, 0) || ' — меньше ' || params.min_n
            when not hist_cells.distribution_ok
                then
                    'доли распределения баллов дают в сумме ' || round(hist_cells.pct_total::numeric, 2)
                    || ' % вместо 100 %'
            when not exists (
                select 1 from cuts
                where
                    cuts.school_year = cells.school_year
                    and cuts.subject_code = cells.subject_code
                    and cuts.grade = cells.grade
            ) then 'нет границ отметок на этот год'
            when coalesce(cell_terms.variance, 0) <= 0
                then 'у границ отметок нет участников школы или школ того же уровня'
        end as insufficient_reason
    from cells
    inner join params on cells.school_year = params.school_year
    left join hist_cells
        on
            cells.school_id = hist_cells.school_id
            and cells.school_year = hist_cells.school_year
            and cells.subject_code = hist_cells.subject_code
            and cells.grade = hist_cells.grade
    left join cell_terms
        on
            cells.school_id = cell_terms.school_id
            and cells.school_year = cell_terms.school_year
            and cells.subject_code = cell_terms.subject_code
            and cells.grade = cell_terms.grade
),

pooled as (
    -- cells, subjects and the whole school-year: sums over the computable cells
    select
        school_id,
        school_year,
        subject_code,
        grade,
        'cell' as sub_check,
        data_basis,
        n_participants,
        k_below,
        n_window,
        expected_below,
        variance,
        peak_ratio_max,
        per_cut,
        insufficient_reason
    from framed
    union all
    select
        school_id,
        school_year,
        case when grouping(subject_code) = 1 then 'all' else subject_code end as subject_code,
        0 as grade,
        case when grouping(subject_code) = 1 then 'school_year' else 'subject' end as sub_check,
        case
            when count(*) filter (where insufficient_reason is null) = 0 then 'none'
            when bool_and(data_basis = 'individual') filter (where insufficient_reason is null) then 'individual'
            else 'aggregated'
        end as data_basis,
        coalesce(sum(n_participants) filter (where insufficient_reason is null), 0) as n_participants,
        sum(k_below) filter (where insufficient_reason is null) as k_below,
        sum(n_window) filter (where insufficient_reason is null) as n_window,
        sum(expected_below) filter (where insufficient_reason is null) as expected_below,
        sum(variance) filter (where insufficient_reason is null) as variance,
        max(peak_ratio_max) filter (where insufficient_reason is null) as peak_ratio_max,
        count(*) filter (where insufficient_reason is null) || ' ячеек' as per_cut,
        case
            when count(*) filter (where insufficient_reason is null) = 0
                then 'ни одна ячейка не рассчитана (' || min(insufficient_reason) || ')'
        end as insufficient_reason
    from framed
    group by grouping sets ((school_id, school_year, subject_code), (school_id, school_year))
),

tested as (
    select
        pooled.*,
        case
            when pooled.insufficient_reason is null
                then (pooled.k_below - pooled.expected_below + 0.5) / sqrt(pooled.variance)
        end as z
    from pooled
),

with_p as (
    select
        *,
        stats.normal_cdf(z) as p_value
    from tested
),

ranked as (
    select
        school_id,
        school_year,
        subject_code,
        grade,
        sub_check,
        row_number() over (
            partition by school_id, school_year order by p_value asc, sub_check asc, subject_code asc, grade asc
        ) as p_rank,
        count(*) over (partition by school_id, school_year) as m,
        p_value,
        percent_rank() over (partition by school_year, sub_check, subject_code, grade order by z desc) as percentile
    from with_p
    where p_value is not null
),

holm as (
    select
        *,
        least(1, max((m - p_rank + 1) * p_value) over (
            partition by school_id, school_year order by p_rank rows between unbounded preceding and current row
        )) as p_adjusted
    from ranked
)

select
    with_p.school_id::text as school_id,
    with_p.school_year::integer as school_year,
    'vpr'::text as procedure_code,
    with_p.subject_code::text as subject_code,
    with_p.grade::integer as grade,
    'O3'::text as check_code,
    with_p.sub_check::text as sub_check,
    with_p.data_basis::text as data_basis,
    case
        when with_p.insufficient_reason is not null then 'недостаточно данных'
        when holm.p_adjusted < params.alpha_family then 'признак'
        else 'нет признаков'
    end::text as status,
    with_p.n_participants::integer as n_participants,
    with_p.z::double precision as effect,
    'z: недостаток участников ниже границ отметок (ст. откл.)'::text as effect_unit,
    stats.normal_ppf(params.alpha_family)::double precision as threshold,
    '<'::text as comparison,
    (100.0 * with_p.expected_below / nullif(with_p.n_window, 0))::double precision as region_value,
    with_p.p_value::double precision as p_value,
    holm.p_adjusted::double precision as p_adjusted,
    holm.percentile::double precision as percentile,
    params.rule_version::text as rule_version,
    case
        when with_p.insufficient_reason is not null then 'Признак не рассчитан: ' || with_p.insufficient_reason
        else
            'Ниже границ отметок (по ' || params.window_below || ' балла) ' || with_p.k_below || ' из '
            || with_p.n_window || ' участников окон у границ; у школ того же уровня ожидалось '
            || round(with_p.expected_below::numeric, 1) || ' (' || round(
                100.0 * with_p.expected_below::numeric / nullif(with_p.n_window, 0), 1
            ) || ' %); z = ' || round(with_p.z::numeric, 2) || ', p = ' || round(with_p.p_value::numeric, 5)
            || ', с поправкой Холма ' || round(holm.p_adjusted::numeric, 5)
            || case
                when with_p.peak_ratio_max is not null
                    then
                        '; наибольшее отношение пика на границе к двум баллам ниже '
                        || round(with_p.peak_ratio_max::numeric, 1) || ' (ориентир ФИОКО ' || params.peak_ratio || ')'
                else ''
            end
            || case
                when with_p.sub_check = 'cell' then ' [отметка: ниже границы из окна: ' || with_p.per_cut || ']'
                else ' [' || with_p.per_cut || ']'
            end
    end::text as explanation,
    with_p.insufficient_reason::text as insufficient_reason
from with_p
inner join params on with_p.school_year = params.school_year
left join holm
    on
        with_p.school_id = holm.school_id
        and with_p.school_year = holm.school_year
        and with_p.subject_code = holm.subject_code
        and with_p.grade = holm.grade
        and with_p.sub_check = holm.sub_check
