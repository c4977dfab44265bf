{{ config(materialized='table') }}
-- The region's own change per procedure × subject × grade from the year before, on every measure: the share
-- of low results, of «4»+«5», the mean mark, the mean score (pooled over schools: within plus between
-- variance), and on the probit scale of the cumulative shares (docs/research/issue9_dynamics.md §1). The
-- probit change R_j of threshold j is the precision-weighted mean of the schools' own changes Δy_j (weights
-- 1 / (v_now + v_prev)), over schools with at least region_change_min_n participants in both years whose
-- threshold is inside 0 < K < n in both years: a uniform change of cut scores moves every school's y_j by
-- the same R_j, while the pooled region's probit (a wider mixture of schools) moves by less. School classes
-- are judged net of R_j (int_school_dynamics); mart_region_dynamics reports the region's break once.
with results as (
    select * from {{ ref('int_school_results') }}
    where is_consistent and share_low is not null
),

probits as (
    select * from {{ ref('int_school_probits') }}
),

params as (
    select max(value) filter (where parameter_code = 'region_change_min_n')::double precision as min_n
    from {{ ref('method_parameters') }}
),

by_year as (
    select
        procedure_code,
        subject_code,
        grade,
        school_year,
        count(*) as n_schools,
        sum(n_participants)::double precision as n,
        sum(round(share_low * n_participants / 100.0))::double precision as low_count,
        sum(n_participants) filter (where share_quality is not null)::double precision as n_quality,
        sum(round(share_quality * n_participants / 100.0))::double precision as quality_count,
        -- the region's score: pooled mean and variance (within schools plus between them)
        sum(n_participants) filter (
            where mean_score_100 is not null and score_variance is not null
        )::double precision as n_score,
        sum(n_participants * mean_score_100) filter (
            where mean_score_100 is not null and score_variance is not null
        )::double precision as score_sum,
        sum((n_participants - 1) * score_variance + n_participants * mean_score_100 * mean_score_100) filter (
            where mean_score_100 is not null and score_variance is not null
        )::double precision as score_square_sum
    from results
    group by procedure_code, subject_code, grade, school_year
),

marks_by_year as (
    select
        procedure_code,
        subject_code,
        grade,
        school_year,
        sum(n)::double precision as n_marks,
        sum(n * mean_mark) / sum(n) as mean_mark,
        -- sample variance of the pupils' marks
        (sum(n * mean_mark_square) - power(sum(n * mean_mark), 2) / sum(n)) / nullif(sum(n) - 1, 0) as mark_variance
    from probits
    where category_kind = 'marks'
    group by procedure_code, subject_code, grade, school_year
),

probit_pairs as (
    select
        now_.procedure_code,
        now_.subject_code,
        now_.grade,
        now_.school_year,
        least(now_.n, prev.n) >= params.min_n as large_enough,
        now_.k1 > 0 and now_.k1 < now_.n and prev.k1 > 0 and prev.k1 < prev.n as inside_1,
        now_.k2 > 0 and now_.k2 < now_.n and prev.k2 > 0 and prev.k2 < prev.n as inside_2,
        coalesce(now_.k3 > 0 and now_.k3 < now_.n and prev.k3 > 0 and prev.k3 < prev.n, false) as inside_3,
        now_.y1 - prev.y1 as dy1,
        now_.y2 - prev.y2 as dy2,
        now_.y3 - prev.y3 as dy3,
        1 / (now_.v11 + prev.v11) as w1,
        1 / (now_.v22 + prev.v22) as w2,
        1 / (now_.v33 + prev.v33) as w3
    from probits as now_
    inner join probits as prev
        on
            now_.school_id = prev.school_id
            and now_.procedure_code = prev.procedure_code
            and now_.subject_code = prev.subject_code
            and now_.grade = prev.grade
            and now_.school_year = prev.school_year + 1
            and now_.category_kind = prev.category_kind
    cross join params
),

probit_changes as (
    select
        procedure_code,
        subject_code,
        grade,
        school_year,
        sum(w1 * dy1) filter (where inside_1) / nullif(sum(w1) filter (where inside_1), 0) as probit_change_1,
        sum(w2 * dy2) filter (where inside_2) / nullif(sum(w2) filter (where inside_2), 0) as probit_change_2,
        sum(w3 * dy3) filter (where inside_3) / nullif(sum(w3) filter (where inside_3), 0) as probit_change_3,
        -- standard errors of R_j (the schools are independent)
        1 / sqrt(nullif(sum(w1) filter (where inside_1), 0)) as probit_change_se_1,
        1 / sqrt(nullif(sum(w2) filter (where inside_2), 0)) as probit_change_se_2,
        1 / sqrt(nullif(sum(w3) filter (where inside_3), 0)) as probit_change_se_3,
        count(*) filter (where inside_1 or inside_2 or inside_3) as n_schools_probit
    from probit_pairs
    where large_enough
    group by procedure_code, subject_code, grade, school_year
)

select
    now_.procedure_code,
    now_.subject_code,
    now_.grade,
    now_.school_year,
    now_.n_schools,
    prev.n as n_prev,
    now_.n as n_now,
    prev.low_count as low_count_prev,
    now_.low_count as low_count_now,
    prev.low_count / nullif(prev.n, 0) as share_low_prev,
    now_.low_count / nullif(now_.n, 0) as share_low_now,
    coalesce(now_.low_count / nullif(now_.n, 0) - prev.low_count / nullif(prev.n, 0), 0) as low_change,
    prev.n_quality as n_quality_prev,
    now_.n_quality as n_quality_now,
    prev.quality_count as quality_count_prev,
    now_.quality_count as quality_count_now,
    prev.quality_count / nullif(prev.n_quality, 0) as share_quality_prev,
    now_.quality_count / nullif(now_.n_quality, 0) as share_quality_now,
    coalesce(now_.quality_count / nullif(now_.n_quality, 0) - prev.quality_count / nullif(prev.n_quality, 0), 0)
        as quality_change,
    marks_prev.n_marks as n_marks_prev,
    marks_now.n_marks as n_marks_now,
    marks_prev.mean_mark as mean_mark_prev,
    marks_now.mean_mark as mean_mark_now,
    marks_prev.mark_variance as mark_variance_prev,
    marks_now.mark_variance as mark_variance_now,
    prev.n_score as n_score_prev,
    now_.n_score as n_score_now,
    prev.score_sum / nullif(prev.n_score, 0) as mean_score_prev,
    now_.score_sum / nullif(now_.n_score, 0) as mean_score_now,
    greatest(prev.score_square_sum - power(prev.score_sum, 2) / prev.n_score, 0) / nullif(prev.n_score - 1, 0)
        as score_variance_prev,
    greatest(now_.score_square_sum - power(now_.score_sum, 2) / now_.n_score, 0) / nullif(now_.n_score - 1, 0)
        as score_variance_now,
    probit_changes.probit_change_1,
    probit_changes.probit_change_2,
    probit_changes.probit_change_3,
    probit_changes.probit_change_se_1,
    probit_changes.probit_change_se_2,
    probit_changes.probit_change_se_3,
    coalesce(probit_changes.n_schools_probit, 0) as n_schools_probit,
    -- the region's location shift in pupil SD, positive = better (fewer pupils below the thresholds)
    -(
        coalesce(probit_changes.probit_change_1, 0) + coalesce(probit_changes.probit_change_2, 0)
        + coalesce(probit_changes.probit_change_3, 0)
    ) / nullif(num_nonnulls(
        probit_changes.probit_change_1, probit_changes.probit_change_2, probit_changes.probit_change_3
    ), 0) as region_probit_shift
from by_year as now_
inner join by_year as prev
    on
        now_.procedure_code = prev.procedure_code
        and now_.subject_code = prev.subject_code
        and now_.grade = prev.grade
        and now_.school_year = prev.school_year + 1
left join marks_by_year as marks_now
    on
        now_.procedure_code = marks_now.procedure_code
        and now_.subject_code = marks_now.subject_code
        and now_.grade = marks_now.grade
        and now_.school_year = marks_now.school_year
left join marks_by_year as marks_prev
    on
        now_.procedure_code = marks_prev.procedure_code
        and now_.subject_code = marks_prev.subject_code
        and now_.grade = marks_prev.grade
        and now_.school_year = marks_prev.school_year + 1
left join probit_changes
    on
        now_.procedure_code = probit_changes.procedure_code
        and now_.subject_code = probit_changes.subject_code
        and now_.grade = probit_changes.grade
        and now_.school_year = probit_changes.school_year
