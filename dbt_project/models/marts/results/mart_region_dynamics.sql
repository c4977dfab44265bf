-- The region's own year-over-year change per procedure × subject × grade on every measure: the share of «2»,
-- of «4»+«5», the mean mark, the mean primary score and the location on the probit scale of the cumulative
-- shares (int_region_changes). A region-wide shift (new cut scores, a new scale or test) is reported here once,
-- with a flag per measure (the change is significant and at least region_break_effect in standardised units:
-- Cohen's h for shares, Cohen's d for means, pupil SD on the probit scale); in a cell in break, every
-- mark-based measure that moved significantly is flagged with it. School classes are judged net of
-- the region's change in every year (int_school_dynamics), so the flag does not drive them; the schools'
-- classes in the same cell are counted beside it. A pure change of cut scores moves the marks but not the
-- primary scores: the label says so. A cell with fewer participants in either year than the minimum cell
-- size publishes no figures (they would show the results of one or two schools), as the school marts do.
with region as (
    select * from {{ ref('int_region_changes') }}
),

dynamics as (
    select * from {{ ref('int_school_dynamics') }}
),

params as (
    select * from {{ ref('int_method_parameters') }}
),

effect as (
    select max(value) filter (where parameter_code = 'region_break_effect')::double precision as min_effect
    from {{ ref('method_parameters') }}
),

measured as (
    select
        region.*,
        params.min_cell_size,
        params.confidence_z,
        params.alpha,
        effect.min_effect,
        least(region.n_prev, region.n_now) < params.min_cell_size as is_suppressed,
        100.0 * (region.share_low_now - region.share_low_prev) as low_change_pp,
        100.0 * stats.newcombe_lower(
            region.low_count_now, region.n_now, region.low_count_prev, region.n_prev, params.confidence_z
        ) as low_change_lower_pp,
        100.0 * stats.newcombe_upper(
            region.low_count_now, region.n_now, region.low_count_prev, region.n_prev, params.confidence_z
        ) as low_change_upper_pp,
        2 * asin(sqrt(region.share_low_now)) - 2 * asin(sqrt(region.share_low_prev)) as low_h,
        100.0 * (region.share_quality_now - region.share_quality_prev) as quality_change_pp,
        100.0 * stats.newcombe_lower(
            region.quality_count_now, region.n_quality_now, region.quality_count_prev, region.n_quality_prev,
            params.confidence_z
        ) as quality_change_lower_pp,
        100.0 * stats.newcombe_upper(
            region.quality_count_now, region.n_quality_now, region.quality_count_prev, region.n_quality_prev,
            params.confidence_z
        ) as quality_change_upper_pp,
        2 * asin(sqrt(region.share_quality_now)) - 2 * asin(sqrt(region.share_quality_prev)) as quality_h,
        region.mean_mark_now - region.mean_mark_prev as mean_mark_change,
        (region.mean_mark_now - region.mean_mark_prev)
        / nullif(sqrt((region.mark_variance_now + region.mark_variance_prev) / 2), 0) as mean_mark_d,
        stats.welch_p(
            region.mean_mark_now, region.mark_variance_now, region.n_marks_now,
            region.mean_mark_prev, region.mark_variance_prev, region.n_marks_prev
        ) as mean_mark_p,
        region.mean_score_now - region.mean_score_prev as mean_score_change,
        (region.mean_score_now - region.mean_score_prev)
        / nullif(sqrt((region.score_variance_now + region.score_variance_prev) / 2), 0) as mean_score_d,
        stats.welch_p(
            region.mean_score_now, region.score_variance_now, region.n_score_now,
            region.mean_score_prev, region.score_variance_prev, region.n_score_prev
        ) as mean_score_p,
        -- the mean of correlated R_j has a standard error at most the largest of theirs
        greatest(region.probit_change_se_1, region.probit_change_se_2, region.probit_change_se_3) as probit_se
    from region
    cross join params
    cross join effect
),

flagged as (
    select
        measured.*,
        case
            when not measured.is_suppressed then
                (
                    (measured.low_change_lower_pp > 0 or measured.low_change_upper_pp < 0)
                    and abs(measured.low_h) >= measured.min_effect
                )
        end as own_break_low,
        case
            when not measured.is_suppressed then
                (
                    (measured.quality_change_lower_pp > 0 or measured.quality_change_upper_pp < 0)
                    and abs(measured.quality_h) >= measured.min_effect
                )
        end as own_break_quality,
        case
            when not measured.is_suppressed then
                (
                    measured.mean_mark_p <= measured.alpha and abs(measured.mean_mark_d) >= measured.min_effect
                )
        end as own_break_mean_mark,
        case
            when not measured.is_suppressed then
                (
                    measured.mean_score_p <= measured.alpha and abs(measured.mean_score_d) >= measured.min_effect
                )
        end as own_break_mean_score,
        case
            when not measured.is_suppressed then
                (
                    abs(measured.region_probit_shift) >= measured.min_effect
                    and abs(measured.region_probit_shift) >= measured.confidence_z * measured.probit_se
                )
        end as own_break_probit,
        -- significant at all (without the effect threshold): the share's interval excludes 0, p ≤ α
        coalesce(measured.low_change_lower_pp > 0 or measured.low_change_upper_pp < 0, false) as low_moved,
        coalesce(measured.quality_change_lower_pp > 0 or measured.quality_change_upper_pp < 0, false) as quality_moved,
        coalesce(measured.mean_mark_p <= measured.alpha, false) as mean_mark_moved,
        coalesce(abs(measured.region_probit_shift) >= measured.confidence_z * measured.probit_se, false) as probit_moved
    from measured
),

broken as (
    -- the break is one event of the cell: a measure with a significant change of at least the effect makes it;
    -- then every mark-based measure that moved significantly is part of it (a share near the floor or the
    -- ceiling moves less than the effect under the same change of cut scores). The mean primary score keeps its
    -- own rule: it tells whether the pupils' performance moved too, or only the marks.
    select
        flagged.*,
        -- a measure that cannot be computed (null) neither makes nor rules out the break; the cell is judged on
        -- the measures it has
        case
            when not flagged.is_suppressed then
                coalesce(flagged.own_break_low, false) or coalesce(flagged.own_break_quality, false)
                or coalesce(flagged.own_break_mean_mark, false) or coalesce(flagged.own_break_mean_score, false)
                or coalesce(flagged.own_break_probit, false)
        end as is_region_break
    from flagged
),

final_flags as (
    select
        broken.*,
        broken.own_break_low or (broken.is_region_break and broken.low_moved) as is_break_low,
        broken.own_break_quality or (broken.is_region_break and broken.quality_moved) as is_break_quality,
        broken.own_break_mean_mark or (broken.is_region_break and broken.mean_mark_moved) as is_break_mean_mark,
        broken.own_break_mean_score as is_break_mean_score,
        broken.own_break_probit or (broken.is_region_break and broken.probit_moved) as is_break_probit
    from broken
),

classes as (
    select
        procedure_code,
        subject_code,
        grade,
        school_year,
        count(*) filter (where dynamics_class = 'положительная') as schools_positive,
        count(*) filter (where dynamics_class = 'отрицательная') as schools_negative,
        count(*) filter (where dynamics_class = 'без значимых изменений') as schools_unchanged,
        max(tau_cohort) as tau_cohort
    from dynamics
    group by procedure_code, subject_code, grade, school_year
),

labelled as (
    select
        flagged.*,
        concat_ws(
            '; ',
            case
                when flagged.is_break_low then
                    case when flagged.n_marks_now is not null then 'доля «2» ' else 'доля низких результатов ' end
                    || case when flagged.low_change_pp > 0 then '+' else '' end
                    || round(flagged.low_change_pp::numeric, 1) || ' п.п.'
            end,
            case
                when flagged.is_break_quality then
                    case when flagged.n_marks_now is not null then '«4»+«5» ' else 'доля высоких результатов ' end
                    || case when flagged.quality_change_pp > 0 then '+' else '' end
                    || round(flagged.quality_change_pp::numeric, 1) || ' п.п.'
            end,
            case
                when flagged.is_break_mean_mark then
                    'средняя отметка ' || case when flagged.mean_mark_change > 0 then '+' else '' end
                    || round(flagged.mean_mark_change::numeric, 2)
            end,
            case
                when flagged.is_break_mean_score then
                    'средний первичный балл ' || case when flagged.mean_score_change > 0 then '+' else '' end
                    || round(flagged.mean_score_change::numeric, 1) || ' % от максимума'
            end,
            case
                when flagged.is_break_probit then
                    'сдвиг по пробит-шкале ' || case when flagged.region_probit_shift > 0 then '+' else '' end
                    || round(flagged.region_probit_shift::numeric, 2) || ' ст. откл. (положительный — лучше)'
            end
        ) as moved_measures
    from final_flags as flagged
)

select
    labelled.procedure_code::text as procedure_code,
    labelled.subject_code::text as subject_code,
    labelled.grade::integer as grade,
    labelled.school_year::integer as school_year,
    labelled.n_schools::integer as n_schools,
    labelled.n_prev::integer as n_prev,
    labelled.n_now::integer as n_now,
    case when not labelled.is_suppressed then round(100 * labelled.share_low_prev::numeric, 2) end::numeric(5, 2)
        as share_low_prev,
    case when not labelled.is_suppressed then round(100 * labelled.share_low_now::numeric, 2) end::numeric(5, 2)
        as share_low_now,
    case
        when not labelled.is_suppressed
            then round(100 * labelled.share_low_now::numeric, 2) - round(100 * labelled.share_low_prev::numeric, 2)
    end::numeric(7, 2) as low_change_pp,
    case when not labelled.is_suppressed then round(labelled.low_change_lower_pp::numeric, 2) end::numeric(7, 2)
        as low_change_lower_pp,
    case when not labelled.is_suppressed then round(labelled.low_change_upper_pp::numeric, 2) end::numeric(7, 2)
        as low_change_upper_pp,
    case when not labelled.is_suppressed then round(100 * labelled.share_quality_prev::numeric, 2) end::numeric(5, 2)
        as quality_share_prev,
    case when not labelled.is_suppressed then round(100 * labelled.share_quality_now::numeric, 2) end::numeric(5, 2)
        as quality_share_now,
    case when not labelled.is_suppressed then round(labelled.quality_change_pp::numeric, 2) end::numeric(7, 2)
        as quality_change_pp,
    case when not labelled.is_suppressed then round(labelled.quality_change_lower_pp::numeric, 2) end::numeric(7, 2)
        as quality_change_lower_pp,
    case when not labelled.is_suppressed then round(labelled.quality_change_upper_pp::numeric, 2) end::numeric(7, 2)
        as quality_change_upper_pp,
    case when not labelled.is_suppressed then round(labelled.mean_mark_prev::numeric, 3) end::numeric(5, 3)
        as mean_mark_prev,
    case when not labelled.is_suppressed then round(labelled.mean_mark_now::numeric, 3) end::numeric(5, 3)
        as mean_mark_now,
    case when not labelled.is_suppressed then round(labelled.mean_mark_change::numeric, 3) end::numeric(6, 3)
        as mean_mark_change,
    case when not labelled.is_suppressed then round(labelled.mean_score_prev::numeric, 2) end::numeric(6, 2)
        as mean_score_prev,
    case when not labelled.is_suppressed then round(labelled.mean_score_now::numeric, 2) end::numeric(6, 2)
        as mean_score_now,
    case when not labelled.is_suppressed then round(labelled.mean_score_change::numeric, 2) end::numeric(7, 2)
        as mean_score_change,
    case when not labelled.is_suppressed then round(labelled.probit_change_1::numeric, 3) end::numeric(6, 3)
        as probit_change_1,
    case when not labelled.is_suppressed then round(labelled.probit_change_2::numeric, 3) end::numeric(6, 3)
        as probit_change_2,
    case when not labelled.is_suppressed then round(labelled.probit_change_3::numeric, 3) end::numeric(6, 3)
        as probit_change_3,
    case when not labelled.is_suppressed then round(labelled.region_probit_shift::numeric, 3) end::numeric(6, 3)
        as region_probit_shift,
    round(classes.tau_cohort::numeric, 3)::numeric(6, 3) as tau_cohort,
    coalesce(classes.schools_positive, 0)::integer as schools_positive,
    coalesce(classes.schools_negative, 0)::integer as schools_negative,
    coalesce(classes.schools_unchanged, 0)::integer as schools_unchanged,
    labelled.is_suppressed::boolean as is_suppressed,
    labelled.is_break_low::boolean as is_break_low,
    labelled.is_break_quality::boolean as is_break_quality,
    labelled.is_break_mean_mark::boolean as is_break_mean_mark,
    labelled.is_break_mean_score::boolean as is_break_mean_score,
    labelled.is_break_probit::boolean as is_break_probit,
    labelled.is_region_break::boolean as is_region_break,
    case
        when labelled.is_suppressed
            then 'скрыто: в одном из двух лет участников по региону меньше ' || labelled.min_cell_size
        when labelled.is_region_break
            then
                'общерегиональный сдвиг: ' || labelled.moved_measures
                || case
                    -- marks moved, primary scores did not: the cut scores between marks changed
                    when
                        (labelled.is_break_mean_mark or labelled.is_break_probit) and not labelled.is_break_mean_score
                        and labelled.mean_score_change is not null
                        then
                            '; средний первичный балл значимо не изменился ('
                            || case when labelled.mean_score_change > 0 then '+' else '' end
                            || round(labelled.mean_score_change::numeric, 1)
                            || ' % от максимума): отметки сдвинулись при тех же баллах'
                            || ' — вероятно, изменены границы отметок'
                    else ''
                end
        else 'без общерегионального сдвига'
    end::text as region_break_label
from labelled
left join classes
    on
        labelled.procedure_code = classes.procedure_code
        and labelled.subject_code = classes.subject_code
        and labelled.grade = classes.grade
        and labelled.school_year = classes.school_year
