{{ config(
    materialized='table',
    pre_hook="set local work_mem = '64MB'; set local enable_nestloop = off; set local enable_mergejoin = off"
) }}
-- O8 «сходство ответов и нетипичные работы» per ВПР cell, from pupil task vectors (int_objectivity_pupil_vectors);
-- cells with only aggregated reports say «недостаточно данных». Three rows per cell:
--   'identical' — the same non-trivial vector (total > 0, at least min_lost_points lost) in k >= identical_min works of
--     one variant. Expected count λ = (works of the variant in the vector's band) · P(total | band) ·
--     Π_j p_j(v_j | band) / P_indep(total | band): the region's task-point shares within the score band, made
--     conditional on the exact total (P_indep by the normal approximation of the sum of independent tasks), since
--     works of one total resemble each other more than the band's marginals say. p = P(Poisson(λ) >= k),
--     Bonferroni over the cell's distinct non-trivial vectors.
--   'pairs' — two works of one class × variant that lost points identically on W tasks (same score below the
--     maximum); expected E = Σ_j Σ_{x<max} p_j(x | band_1) p_j(x | band_2); p = P(Poisson(E) >= W), Bonferroni over
--     the cell's pairs. Only non-trivial works, only groups of at most max_group works: the pairs stay bounded.
--   'guttman' — works with a normed Guttman error count G* = G / (r (J − r)) at or above the region's
--     guttman_percentile among works with the same number r of fully solved tasks; k such works against the region's
--     share at or above the same cut-off (G* is discrete, so that share is the null rate, not 1 − percentile):
--     binomial upper tail.
-- Holm over the school-year's O8 rows at alpha_family.
with params as (
    {{ objectivity_parameters('O8', ['min_n', 'alpha_family', 'identical_min', 'min_lost_points',
        'guttman_percentile', 'max_group']) }}
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

vectors as (
    select * from {{ ref('int_objectivity_pupil_vectors') }}
    where is_complete
),

probs as (
    select * from {{ ref('int_objectivity_pupil_task_probs') }}
),

pupil_cells as (
    select
        school_id,
        school_year,
        subject_code,
        grade,
        count(*) as n_works
    from vectors
    group by school_id, school_year, subject_code, grade
),

nontrivial as (
    select vectors.*
    from vectors
    inner join params on vectors.school_year = params.school_year
    where vectors.total > 0 and vectors.max_total - vectors.total >= params.min_lost_points
),

-- (a) identical vectors -----------------------------------------------------------------------------------------
distinct_vectors as (
    select
        school_id,
        school_year,
        subject_code,
        grade,
        count(distinct points) as n_distinct
    from nontrivial
    group by school_id, school_year, subject_code, grade
),

variant_bands as (
    select
        school_id,
        school_year,
        subject_code,
        grade,
        coalesce(variant, '') as variant,
        band,
        count(*) as n_band_group
    from vectors
    group by school_id, school_year, subject_code, grade, coalesce(variant, ''), band
),

candidates as (
    select
        nontrivial.school_id,
        nontrivial.school_year,
        nontrivial.subject_code,
        nontrivial.grade,
        coalesce(nontrivial.variant, '') as variant,
        nontrivial.points,
        nontrivial.total,
        nontrivial.band,
        count(*) as k
    from nontrivial
    inner join params on nontrivial.school_year = params.school_year
    group by
        nontrivial.school_id, nontrivial.school_year, nontrivial.subject_code, nontrivial.grade,
        coalesce(nontrivial.variant, ''), nontrivial.points, nontrivial.total, nontrivial.band, params.identical_min
    having count(*) >= params.identical_min
),

candidate_logp as (
    select
        candidates.school_id,
        candidates.school_year,
        candidates.subject_code,
        candidates.grade,
        candidates.variant,
        candidates.points,
        sum(ln(greatest(probs.prob, 1e-300))) as log_p
    from candidates
    cross join lateral unnest(candidates.points) with ordinality as task_row (points, task_index)
    inner join probs
        on
            candidates.school_year = probs.school_year
            and candidates.subject_code = probs.subject_code
            and candidates.grade = probs.grade
            and candidates.band = probs.band
            and task_row.task_index = probs.task_index
            and task_row.points = probs.points
    group by
        candidates.school_id, candidates.school_year, candidates.subject_code, candidates.grade,
        candidates.variant, candidates.points
),

band_moments as (
    -- mean and variance of the total if tasks were independent within the band
    select
        school_year,
        subject_code,
        grade,
        band,
        sum(task_mean) as mu,
        sum(task_square - task_mean * task_mean) as sigma2
    from (
        select
            school_year,
            subject_code,
            grade,
            band,
            task_index,
            sum(points * prob) as task_mean,
            sum(points * points * prob) as task_square
        from probs
        group by school_year, subject_code, grade, band, task_index
    ) as per_task
    group by school_year, subject_code, grade, band
),

band_totals as (
    select
        school_year,
        subject_code,
        grade,
        band,
        total,
        count(*)::double precision / sum(count(*)) over (partition by school_year, subject_code, grade, band)
            as p_total
    from vectors
    group by school_year, subject_code, grade, band, total
),

identical_tests as (
    select
        candidates.*,
        variant_bands.n_band_group
        * band_totals.p_total
        * exp(candidate_logp.log_p)
        / nullif(
            stats.normal_cdf((candidates.total + 0.5 - band_moments.mu) / nullif(sqrt(band_moments.sigma2), 0))
            - stats.normal_cdf((candidates.total - 0.5 - band_moments.mu) / nullif(sqrt(band_moments.sigma2), 0)),
            0
        ) as lambda
    from candidates
    inner join candidate_logp
        on
            candidates.school_id = candidate_logp.school_id
            and candidates.school_year = candidate_logp.school_year
            and candidates.subject_code = candidate_logp.subject_code
            and candidates.grade = candidate_logp.grade
            and candidates.variant = candidate_logp.variant
            and candidates.points = candidate_logp.points
    inner join variant_bands
        on
            candidates.school_id = variant_bands.school_id
            and candidates.school_year = variant_bands.school_year
            and candidates.subject_code = variant_bands.subject_code
            and candidates.grade = variant_bands.grade
            and candidates.variant = variant_bands.variant
            and candidates.band = variant_bands.band
    inner join band_totals
        on
            candidates.school_year = band_totals.school_year
            and candidates.subject_code = band_totals.subject_code
            and candidates.grade = band_totals.grade
            and candidates.band = band_totals.band
            and candidates.total = band_totals.total
    inner join band_moments
        on
            candidates.school_year = band_moments.school_year
            and candidates.subject_code = band_moments.subject_code
            and candidates.grade = band_moments.grade
            and candidates.band = band_moments.band
),

identical_cells as (
    select distinct on (
        identical_tests.school_id, identical_tests.school_year, identical_tests.subject_code,
        identical_tests.grade)
        identical_tests.school_id,
        identical_tests.school_year,
        identical_tests.subject_code,
        identical_tests.grade,
        identical_tests.k,
        identical_tests.total,
        identical_tests.lambda,
        -- a λ that cannot be computed (P_indep of 0) counts as no evidence
        least(
            1, coalesce(stats.poisson_sf(identical_tests.k, identical_tests.lambda), 1)
            * distinct_vectors.n_distinct
        ) as p_value,
        distinct_vectors.n_distinct
    from identical_tests
    inner join distinct_vectors
        on
            identical_tests.school_id = distinct_vectors.school_id
            and identical_tests.school_year = distinct_vectors.school_year
            and identical_tests.subject_code = distinct_vectors.subject_code
            and identical_tests.grade = distinct_vectors.grade
    order by
        identical_tests.school_id asc,
        identical_tests.school_year asc,
        identical_tests.subject_code asc,
        identical_tests.grade asc,
        coalesce(stats.poisson_sf(identical_tests.k, identical_tests.lambda), 1) asc, identical_tests.k desc,
        -- ties broken by the values shown, so that the same works give the same row after a reload
        identical_tests.total asc, identical_tests.points::text asc
),

-- (b) pairs sharing lost points -----------------------------------------------------------------------------------
grouped as (
    select
        nontrivial.*,
        count(*) over (
            partition by
                nontrivial.school_id,
                nontrivial.school_year,
                nontrivial.subject_code,
                nontrivial.grade,
                coalesce(nontrivial.class_label, ''),
                coalesce(nontrivial.variant, '')
        ) as group_size
    from nontrivial
),

band_pair_expectations as (
    select
        p1.school_year,
        p1.subject_code,
        p1.grade,
        p1.band as band_1,
        p2.band as band_2,
        sum(p1.prob * p2.prob) as expected
    from probs as p1
    inner join probs as p2
        on
            p1.school_year = p2.school_year
            and p1.subject_code = p2.subject_code
            and p1.grade = p2.grade
            and p1.task_index = p2.task_index
            and p1.points = p2.points
    where p1.points < p1.max_points
    group by p1.school_year, p1.subject_code, p1.grade, p1.band, p2.band
),

pairs as materialized (
    select
        v1.school_id,
        v1.school_year,
        v1.subject_code,
        v1.grade,
        (
            select count(*)
            from unnest(v1.points, v2.points, v1.max_points) as u (a, b, m)
            where u.a = u.b and u.a < u.m
        ) as shared_lost,
        expectations.expected
    from grouped as v1
    inner join grouped as v2
        on
            v1.school_id = v2.school_id
            and v1.school_year = v2.school_year
            and v1.subject_code = v2.subject_code
            and v1.grade = v2.grade
            and coalesce(v1.class_label, '') = coalesce(v2.class_label, '')
            and coalesce(v1.variant, '') = coalesce(v2.variant, '')
            and (v1.load_id, v1.source_row) < (v2.load_id, v2.source_row)
    inner join params on v1.school_year = params.school_year
    inner join band_pair_expectations as expectations
        on
            v1.school_year = expectations.school_year
            and v1.subject_code = expectations.subject_code
            and v1.grade = expectations.grade
            and v1.band = expectations.band_1
            and v2.band = expectations.band_2
    where v1.group_size <= params.max_group
),

pair_tests as (
    -- a pair that shares no more than E + 2√E lost tasks cannot be the cell's strongest evidence after
    -- Bonferroni; its tail is taken as 1 (conservative) instead of being computed
    select
        *,
        case
            when shared_lost >= 2 and shared_lost > expected + 2 * sqrt(expected)
                then stats.poisson_sf(shared_lost, expected)
            else 1
        end as p_pair
    from pairs
),

pair_cells as (
    select distinct on (school_id, school_year, subject_code, grade)
        school_id,
        school_year,
        subject_code,
        grade,
        shared_lost,
        expected,
        least(1, p_pair * count(*) over (partition by school_id, school_year, subject_code, grade)) as p_value,
        count(*) over (partition by school_id, school_year, subject_code, grade) as n_pairs
    from pair_tests
    -- ties (many pairs have p = 1) broken by the values shown: a reload renumbers the works, not the result
    order by school_id asc, school_year asc, subject_code asc, grade asc, p_pair asc, shared_lost desc, expected asc
),

oversized as (
    select
        school_id,
        school_year,
        subject_code,
        grade,
        max(group_size) as max_group_size
    from grouped
    group by school_id, school_year, subject_code, grade
),

-- (c) Guttman errors --------------------------------------------------------------------------------------------
task_order as (
    select distinct
        school_year,
        subject_code,
        grade,
        task_index,
        -- easiest first
        dense_rank() over (
            partition by school_year, subject_code, grade order by full_share desc, task_index asc
        ) as easy_rank
    from probs
),

test_ranks as (
    -- each test's easy ranks in the vectors' task order
    select
        school_year,
        subject_code,
        grade,
        array_agg(easy_rank order by task_index) as ranks
    from task_order
    group by school_year, subject_code, grade
),

guttman_works as (
    -- G = Σ over solved tasks of (easy rank − 1) − r(r − 1)/2: the unsolved easier tasks before each solved one
    select
        vectors.load_id,
        vectors.source_row,
        vectors.school_id,
        vectors.school_year,
        vectors.subject_code,
        vectors.grade,
        counts.r,
        counts.j,
        (counts.rank_sum - counts.r * (counts.r - 1) / 2.0) / nullif(counts.r * (counts.j - counts.r), 0) as g_star
    from vectors
    inner join test_ranks
        on
            vectors.school_year = test_ranks.school_year
            and vectors.subject_code = test_ranks.subject_code
            and vectors.grade = test_ranks.grade
    cross join lateral (
        select
            sum((task_row.points >= task_row.max_points)::integer) as r,
            count(*) as j,
            sum(case when task_row.points >= task_row.max_points then task_row.easy_rank - 1 else 0 end) as rank_sum
        from unnest(vectors.points, vectors.max_points, test_ranks.ranks) as task_row (points, max_points, easy_rank)
    ) as counts
),

guttman_cutoffs as (
    select
        guttman_works.school_year,
        guttman_works.subject_code,
        guttman_works.grade,
        guttman_works.r,
        percentile_disc(params.guttman_percentile) within group (order by guttman_works.g_star) as cutoff
    from guttman_works
    inner join params on guttman_works.school_year = params.school_year
    where guttman_works.g_star is not null
    group by
        guttman_works.school_year, guttman_works.subject_code, guttman_works.grade, guttman_works.r,
        params.guttman_percentile
),

guttman_flags as (
    select
        guttman_works.*,
        (guttman_works.g_star >= guttman_cutoffs.cutoff)::integer as misfit,
        -- the region's share above the same cut-off: the expected rate for this work
        avg((guttman_works.g_star >= guttman_cutoffs.cutoff)::integer) over (
            partition by guttman_works.school_year, guttman_works.subject_code, guttman_works.grade, guttman_works.r
        ) as p_region
    from guttman_works
    inner join guttman_cutoffs
        on
            guttman_works.school_year = guttman_cutoffs.school_year
            and guttman_works.subject_code = guttman_cutoffs.subject_code
            and guttman_works.grade = guttman_cutoffs.grade
            and guttman_works.r = guttman_cutoffs.r
),

guttman_cells as (
    select
        school_id,
        school_year,
        subject_code,
        grade,
        count(*) as n_scored,
        sum(misfit) as k_misfit,
        avg(p_region) as p_region,
        stats.binom_sf(sum(misfit), count(*), avg(p_region)) as p_value
    from guttman_flags
    group by school_id, school_year, subject_code, grade
),

-- every cell × sub-check --------------------------------------------------------------------------------------
framed as (
    select
        cells.school_id,
        cells.school_year,
        cells.subject_code,
        cells.grade,
        sub.sub_check,
        case
            when pupil_cells.school_id is not null then 'individual'
            when cells.result_source is not null then 'aggregated'
            else 'none'
        end as data_basis,
        coalesce(pupil_cells.n_works, cells.n_participants) as n_participants,
        params.alpha_family,
        params.identical_min,
        params.guttman_percentile,
        params.max_group,
        params.rule_version,
        identical_cells.k as identical_k,
        identical_cells.total as identical_total,
        identical_cells.lambda as identical_lambda,
        identical_cells.n_distinct,
        pair_cells.shared_lost,
        pair_cells.expected as pair_expected,
        pair_cells.n_pairs,
        guttman_cells.n_scored,
        guttman_cells.k_misfit,
        guttman_cells.p_region,
        oversized.max_group_size,
        case sub.sub_check
            when
                'identical'
                then case when pupil_cells.school_id is not null then coalesce(identical_cells.p_value, 1) end
            when 'pairs' then pair_cells.p_value
            else guttman_cells.p_value
        end as p_value,
        case
            when pupil_cells.school_id is null then 'нет данных по участникам: у школы только сводные отчёты'
            when pupil_cells.n_works < params.min_n
                then 'работ с баллами по заданиям ' || pupil_cells.n_works || ' — меньше ' || params.min_n
            when
                sub.sub_check = 'pairs' and pair_cells.school_id is null and oversized.max_group_size > params.max_group
                then 'группы класс × вариант больше ' || params.max_group || ' работ (класс не указан?)'
            when sub.sub_check = 'pairs' and pair_cells.school_id is null
                then 'нет пар работ с потерянными баллами в одном классе и варианте'
            when sub.sub_check = 'guttman' and guttman_cells.school_id is null
                then 'нет работ с частично решёнными заданиями'
        end as insufficient_reason
    from cells
    cross join (values ('identical'), ('pairs'), ('guttman')) as sub (sub_check)
    inner join params on cells.school_year = params.school_year
    left join pupil_cells
        on
            cells.school_id = pupil_cells.school_id
            and cells.school_year = pupil_cells.school_year
            and cells.subject_code = pupil_cells.subject_code
            and cells.grade = pupil_cells.grade
    left join identical_cells
        on
            cells.school_id = identical_cells.school_id
            and cells.school_year = identical_cells.school_year
            and cells.subject_code = identical_cells.subject_code
            and cells.grade = identical_cells.grade
    left join pair_cells
        on
            cells.school_id = pair_cells.school_id
            and cells.school_year = pair_cells.school_year
            and cells.subject_code = pair_cells.subject_code
            and cells.grade = pair_cells.grade
    left join guttman_cells
        on
            cells.school_id = guttman_cells.school_id
            and cells.school_year = guttman_cells.school_year
            and cells.subject_code = guttman_cells.subject_code
            and cells.grade = guttman_cells.grade
    left join oversized
        on
            cells.school_id = oversized.school_id
            and cells.school_year = oversized.school_year
            and cells.subject_code = oversized.subject_code
            and cells.grade = oversized.grade
),

ranked as (
    select
        school_id,
        school_year,
        subject_code,
        grade,
        sub_check,
        row_number() over (
            partition by school_id, school_year order by p_value asc, subject_code asc, grade asc, sub_check asc
        ) as p_rank,
        count(*) over (partition by school_id, school_year) as m,
        p_value
    from framed
    where insufficient_reason is null and p_value is not null
),

holm as (
    select
        *,
        least(1, max((m - p_rank + 1) * p_value) over (
            partition by school_id, school_year order by p_rank rows between unbounded preceding and current row
        )) as p_adjusted,
        percent_rank() over (partition by school_year, subject_code, grade, sub_check order by p_value desc)
            as percentile
    from ranked
)

select
    framed.school_id::text as school_id,
    framed.school_year::integer as school_year,
    'vpr'::text as procedure_code,
    framed.subject_code::text as subject_code,
    framed.grade::integer as grade,
    'O8'::text as check_code,
    framed.sub_check::text as sub_check,
    framed.data_basis::text as data_basis,
    case
        when framed.insufficient_reason is not null then 'недостаточно данных'
        when holm.p_adjusted < framed.alpha_family then 'признак'
        else 'нет признаков'
    end::text as status,
    framed.n_participants::integer as n_participants,
    case
        when framed.insufficient_reason is not null then null
        when framed.sub_check = 'identical' then coalesce(framed.identical_k, 0)
        when framed.sub_check = 'pairs' then framed.shared_lost
        else 100.0 * framed.k_misfit / nullif(framed.n_scored, 0)
    end::double precision as effect,
    case framed.sub_check
        when 'identical' then 'работ с одинаковыми баллами по всем заданиям'
        when 'pairs' then 'заданий с одинаково потерянными баллами у пары работ'
        else '% работ с нетипичным числом ошибок Гуттмана'
    end::text as effect_unit,
    case framed.sub_check
        when 'identical' then framed.identical_min
        when 'pairs' then null
        else 100 * (1 - framed.guttman_percentile)
    end::double precision as threshold,
    case when framed.sub_check = 'identical' then '≥' else '>' end::text as comparison,
    case
        when framed.insufficient_reason is not null then null
        when framed.sub_check = 'identical' then framed.identical_lambda
        when framed.sub_check = 'pairs' then framed.pair_expected
        else 100.0 * framed.p_region
    end::double precision as region_value,
    case when framed.insufficient_reason is null then framed.p_value end::double precision as p_value,
    holm.p_adjusted::double precision as p_adjusted,
    holm.percentile::double precision as percentile,
    framed.rule_version::text as rule_version,
    case
        when framed.insufficient_reason is not null then 'Признак не рассчитан: ' || framed.insufficient_reason
        when framed.sub_check = 'identical' and framed.identical_k is null
            then
                'Одинаковых нетривиальных векторов баллов в ' || framed.identical_min
                || ' и более работах одного варианта нет'
        when framed.sub_check = 'identical'
            then
                framed.identical_k || ' работ одного варианта с одинаковыми баллами по всем заданиям (первичный балл '
                || framed.identical_total || '); по региону ожидалось ' || round(framed.identical_lambda::numeric, 4)
                || ' таких работ; p = ' || round(framed.p_value::numeric, 6) || ' с учётом '
                || framed.n_distinct || ' разных векторов, с поправкой Холма ' || round(holm.p_adjusted::numeric, 6)
        when framed.sub_check = 'pairs'
            then
                'Наибольшее совпадение пары работ одного класса и варианта: одинаково потерянные баллы в '
                || framed.shared_lost || ' заданиях при ожидаемых ' || round(framed.pair_expected::numeric, 2)
                || '; p = ' || round(framed.p_value::numeric, 6) || ' с учётом ' || framed.n_pairs
                || ' пар, с поправкой Холма ' || round(holm.p_adjusted::numeric, 6)
        else
            framed.k_misfit || ' из ' || framed.n_scored
            || ' работ с нормированным числом ошибок Гуттмана не ниже квантиля ' || framed.guttman_percentile
            || ' региона (по региону ожидалось ' || round(100 * framed.p_region::numeric, 1) || ' %); p = '
            || round(framed.p_value::numeric, 6) || ', с поправкой Холма ' || round(holm.p_adjusted::numeric, 6)
    end::text as explanation,
    framed.insufficient_reason::text as insufficient_reason
from framed
left join holm
    on
        framed.school_id = holm.school_id
        and framed.school_year = holm.school_year
        and framed.subject_code = holm.subject_code
        and framed.grade = holm.grade
        and framed.sub_check = holm.sub_check
