{{ config(
    materialized='table',
    pre_hook="set local work_mem = '64MB'; set local enable_nestloop = off; set local enable_mergejoin = off"
) }}
-- O2 «лёгкие задания хуже, трудные лучше» per ВПР cell (school × year × subject × grade), from task completion
-- of pupil rows or the ФИС ОКО «Выполнение заданий» report (int_task_results), so aggregated-only schools are
-- checked too. Two rows per cell:
--   'official' — the Rosobrnadzor rule: the school's gap to the region on hard tasks (В; without two В tasks, П and
--     В) minus its gap on basic tasks (Б) ≥ hard_minus_basic_pp with the basic gap below basic_gap_max_pp; it is a
--     sign only when the slope test below confirms it (the p.p. rule alone fires by chance in small cells);
--   'slope' — a weighted regression over the cell's tasks of the logit gap logit(s) − logit(r) on the task's
--     difficulty −logit(r): a uniform shift of ability moves every logit gap alike, so a slope above that of a
--     typical school (the median slope of the region's cells of the same test, with at least
--     slope_reference_min_cells cells; else 0) means hard tasks are solved «too well» for the school's level.
--     (slope − reference) / √(se² + τ²), τ² the honest between-school variance of slopes (robust, from the MAD);
--     one-sided, t with df = tasks − 2 (τ² = 0 without a reference); Holm over the school-year's cells at
--     alpha_family.
-- A task without a stated difficulty takes the tercile of its region completion within the test (top third Б,
-- bottom third В). Completion shares are clipped to [0.5 %, 99.5 %] before the logit.
with params as (
    {{ objectivity_parameters('O2', ['min_n', 'alpha_family', 'hard_minus_basic_pp', 'basic_gap_max_pp',
        'min_tasks_per_level', 'slope_reference_min_cells']) }}
),

cells as (
    select
        school_id,
        school_year,
        subject_code,
        grade,
        result_source,
        n_participants,
        is_consistent
    from {{ ref('int_school_results') }}
    where procedure_code = 'vpr'
),

task_rows as (
    -- one row per cell × task (a report given twice is averaged)
    select
        school_id,
        school_year,
        subject_code,
        grade,
        task_code,
        max(result_source) as result_source,
        max(difficulty) as difficulty,
        greatest(coalesce(max(task_max_points), 1), 1) as weight,
        avg(mean_pct_of_max) as school_pct,
        max(region_pct_of_max) as region_pct,
        max(region_n_participants) as region_n,
        max(n_participants) as n_task,
        max(region_source) as region_source
    from {{ ref('int_task_results') }}
    where procedure_code = 'vpr' and mean_pct_of_max is not null
    group by school_id, school_year, subject_code, grade, task_code
),

loo as (
    -- a region computed from the warehouse's own cells leaves the school out
    select
        *,
        case
            when region_source = 'computed' and region_n > n_task
                then (region_pct * region_n - school_pct * n_task) / (region_n - n_task)
            else region_pct
        end as ref_pct
    from task_rows
    where region_pct is not null
),

terciles as (
    select
        school_year,
        subject_code,
        grade,
        task_code,
        ntile(3) over (partition by school_year, subject_code, grade order by avg(region_pct) desc) as tercile
    from loo
    group by school_year, subject_code, grade, task_code
),

tasks as (
    select
        loo.*,
        case
            when upper(left(trim(loo.difficulty), 1)) in ('Б', 'П', 'В') then upper(left(trim(loo.difficulty), 1))
            when terciles.tercile = 1 then 'Б'
            when terciles.tercile = 2 then 'П'
            else 'В'
        end as task_level,
        loo.difficulty is null as level_imputed,
        -- logit gap y against difficulty x, both on clipped shares
        ln(least(greatest(loo.school_pct, 0.5), 99.5) / (100 - least(greatest(loo.school_pct, 0.5), 99.5)))
        - ln(least(greatest(loo.ref_pct, 0.5), 99.5) / (100 - least(greatest(loo.ref_pct, 0.5), 99.5))) as y,
        -ln(least(greatest(loo.ref_pct, 0.5), 99.5) / (100 - least(greatest(loo.ref_pct, 0.5), 99.5))) as x
    from loo
    inner join terciles
        on
            loo.school_year = terciles.school_year
            and loo.subject_code = terciles.subject_code
            and loo.grade = terciles.grade
            and loo.task_code = terciles.task_code
),

levels as (
    select
        tasks.school_id,
        tasks.school_year,
        tasks.subject_code,
        tasks.grade,
        count(*) filter (where tasks.task_level = 'Б') as n_basic,
        count(*) filter (where tasks.task_level = 'В') as n_hard_only,
        count(*) filter (where tasks.task_level in ('П', 'В')) as n_hard_wide,
        bool_or(tasks.level_imputed) as any_imputed,
        sum(tasks.weight * (tasks.school_pct - tasks.ref_pct)) filter (where tasks.task_level = 'Б')
        / nullif(sum(tasks.weight) filter (where tasks.task_level = 'Б'), 0) as basic_gap,
        sum(tasks.weight * (tasks.school_pct - tasks.ref_pct)) filter (where tasks.task_level = 'В')
        / nullif(sum(tasks.weight) filter (where tasks.task_level = 'В'), 0) as hard_gap_only,
        sum(tasks.weight * (tasks.school_pct - tasks.ref_pct)) filter (where tasks.task_level in ('П', 'В'))
        / nullif(sum(tasks.weight) filter (where tasks.task_level in ('П', 'В')), 0) as hard_gap_wide,
        count(*) as n_tasks,
        sum(tasks.weight) as sw,
        sum(tasks.weight * tasks.x) / sum(tasks.weight) as xm,
        sum(tasks.weight * tasks.y) / sum(tasks.weight) as ym
    from tasks
    group by tasks.school_id, tasks.school_year, tasks.subject_code, tasks.grade
),

regression as (
    select
        levels.school_id,
        levels.school_year,
        levels.subject_code,
        levels.grade,
        sum(tasks.weight * power(tasks.x - levels.xm, 2)) as sxx,
        sum(tasks.weight * (tasks.x - levels.xm) * (tasks.y - levels.ym)) as sxy,
        sum(tasks.weight * power(tasks.y - levels.ym, 2)) as syy
    from levels
    inner join tasks
        on
            levels.school_id = tasks.school_id
            and levels.school_year = tasks.school_year
            and levels.subject_code = tasks.subject_code
            and levels.grade = tasks.grade
    group by levels.school_id, levels.school_year, levels.subject_code, levels.grade
),

measured as (
    select
        levels.*,
        case when levels.n_hard_only >= params.min_tasks_per_level then 'В' else 'П+В' end as hard_set,
        case
            when levels.n_hard_only >= params.min_tasks_per_level then levels.hard_gap_only
            else levels.hard_gap_wide
        end as hard_gap,
        case
            when levels.n_hard_only >= params.min_tasks_per_level then levels.n_hard_only
            else levels.n_hard_wide
        end as n_hard,
        regression.sxy / nullif(regression.sxx, 0) as slope,
        -- residual variance of the weighted fit and the slope's t statistic
        greatest(regression.syy - power(regression.sxy, 2) / nullif(regression.sxx, 0), 0)
        / nullif(levels.n_tasks - 2, 0) as sigma2,
        regression.sxx
    from levels
    inner join regression
        on
            levels.school_id = regression.school_id
            and levels.school_year = regression.school_year
            and levels.subject_code = regression.subject_code
            and levels.grade = regression.grade
    inner join params on levels.school_year = params.school_year
),

slope_reference as (
    -- the slope of a typical school of the same test: a school's pupils vary less than the region's, which
    -- tilts every school's logit gap slightly against hard tasks; the school is judged against that
    select
        measured.school_year,
        measured.subject_code,
        measured.grade,
        count(*) >= max(params.slope_reference_min_cells) as has_reference,
        percentile_cont(0.5) within group (order by measured.slope) as slope_median,
        percentile_cont(0.5) within group (order by measured.sigma2 / nullif(measured.sxx, 0)) as se2_median
    from measured
    inner join params on measured.school_year = params.school_year
    where measured.slope is not null and measured.n_tasks > 2
    group by measured.school_year, measured.subject_code, measured.grade
),

slope_spread as (
    -- honest schools' slopes differ beyond their sampling error (what a school teaches, its pupils' spread):
    -- τ² = (1.4826 · MAD of the slopes)² − the median sampling variance, a robust random-effects variance
    select
        slope_reference.school_year,
        slope_reference.subject_code,
        slope_reference.grade,
        case when slope_reference.has_reference then slope_reference.slope_median else 0 end as slope_ref,
        case
            when slope_reference.has_reference
                then greatest(
                    power(1.4826 * percentile_cont(0.5) within group (
                        order by abs(measured.slope - slope_reference.slope_median)
                    ), 2) - max(slope_reference.se2_median),
                    0
                )
            else 0
        end as tau2
    from slope_reference
    inner join measured
        on
            slope_reference.school_year = measured.school_year
            and slope_reference.subject_code = measured.subject_code
            and slope_reference.grade = measured.grade
    where measured.slope is not null and measured.n_tasks > 2
    group by
        slope_reference.school_year, slope_reference.subject_code, slope_reference.grade,
        slope_reference.has_reference, slope_reference.slope_median
),

tested as (
    select
        measured.*,
        coalesce(slope_spread.slope_ref, 0) as slope_ref,
        coalesce(slope_spread.tau2, 0) as tau2,
        (measured.slope - coalesce(slope_spread.slope_ref, 0))
        / nullif(sqrt(measured.sigma2 / nullif(measured.sxx, 0) + coalesce(slope_spread.tau2, 0)), 0) as t_stat,
        measured.n_tasks - 2 as df
    from measured
    left join slope_spread
        on
            measured.school_year = slope_spread.school_year
            and measured.subject_code = slope_spread.subject_code
            and measured.grade = slope_spread.grade
),

with_p as (
    select
        *,
        case
            when df < 1 or slope is null then null
            when sigma2 = 0 and tau2 = 0 then case when slope > slope_ref then 0.0 else 1.0 end
            -- P(T_df > t) = I_{df/(df+t²)}(df/2, 1/2) / 2 for t >= 0
            when t_stat >= 0 then 0.5 * stats.betainc(df / 2.0, 0.5, df / (df + t_stat * t_stat))
            else 1 - 0.5 * stats.betainc(df / 2.0, 0.5, df / (df + t_stat * t_stat))
        end as p_slope
    from tested
),

framed as (
    select
        cells.school_id,
        cells.school_year,
        cells.subject_code,
        cells.grade,
        case when cells.result_source = 'individual' then 'individual' else 'aggregated' end as basis,
        cells.n_participants,
        cells.is_consistent,
        params.min_n,
        params.alpha_family,
        params.hard_minus_basic_pp,
        params.basic_gap_max_pp,
        params.min_tasks_per_level,
        params.rule_version,
        with_p.n_tasks,
        with_p.n_basic,
        with_p.n_hard,
        with_p.hard_set,
        with_p.any_imputed,
        with_p.basic_gap,
        with_p.hard_gap,
        with_p.hard_gap - with_p.basic_gap as hard_minus_basic,
        with_p.slope,
        with_p.slope_ref,
        with_p.df,
        case
            when with_p.school_id is null then 'нет результатов по заданиям для ячейки'
            when coalesce(cells.n_participants, 0) < params.min_n
                then 'участников ' || cells.n_participants || ' — меньше ' || params.min_n
            when not cells.is_consistent then 'несогласованные данные ячейки'
            when with_p.n_basic < params.min_tasks_per_level or with_p.n_hard < params.min_tasks_per_level
                then
                    'мало заданий базового (' || with_p.n_basic || ') или высокого уровня (' || with_p.n_hard
                    || '), нужно не меньше ' || params.min_tasks_per_level
            when with_p.p_slope is null then 'нельзя оценить наклон: меньше 3 заданий с разной трудностью'
        end as insufficient_reason,
        with_p.p_slope
    from cells
    inner join params on cells.school_year = params.school_year
    left join with_p
        on
            cells.school_id = with_p.school_id
            and cells.school_year = with_p.school_year
            and cells.subject_code = with_p.subject_code
            and cells.grade = with_p.grade
),

ranked as (
    -- Holm within the school-year over the cells that have a p-value
    select
        *,
        row_number() over (
            partition by school_id, school_year order by p_slope asc nulls last, subject_code asc, grade asc
        ) as p_rank,
        count(p_slope) over (partition by school_id, school_year) as m,
        percent_rank() over (partition by school_year, subject_code, grade order by slope asc nulls first)
            as slope_percentile
    from framed
    where insufficient_reason is null
),

holm as (
    select
        school_id,
        school_year,
        subject_code,
        grade,
        slope_percentile,
        least(1, max((m - p_rank + 1) * p_slope) over (
            partition by school_id, school_year order by p_rank rows between unbounded preceding and current row
        )) as p_adjusted
    from ranked
),

judged as (
    select
        framed.*,
        holm.p_adjusted,
        holm.slope_percentile,
        framed.insufficient_reason is null and holm.p_adjusted < framed.alpha_family as slope_fires,
        framed.insufficient_reason is null
        and framed.hard_minus_basic >= framed.hard_minus_basic_pp
        and framed.basic_gap < framed.basic_gap_max_pp as official_fires
    from framed
    left join holm
        on
            framed.school_id = holm.school_id
            and framed.school_year = holm.school_year
            and framed.subject_code = holm.subject_code
            and framed.grade = holm.grade
),

rows_ as (
    select
        judged.*,
        sub.sub_check
    from judged
    cross join (values ('official'), ('slope')) as sub (sub_check)
)

select
    school_id::text as school_id,
    school_year::integer as school_year,
    'vpr'::text as procedure_code,
    subject_code::text as subject_code,
    grade::integer as grade,
    'O2'::text as check_code,
    sub_check::text as sub_check,
    case when insufficient_reason = 'нет результатов по заданиям для ячейки' then 'none' else basis end::text
        as data_basis,
    case
        when insufficient_reason is not null then 'недостаточно данных'
        when sub_check = 'official' and official_fires and slope_fires then 'признак'
        when sub_check = 'slope' and slope_fires then 'признак'
        else 'нет признаков'
    end::text as status,
    n_participants::integer as n_participants,
    case
        when insufficient_reason is not null then null
        when sub_check = 'official' then hard_minus_basic
        else slope
    end::double precision as effect,
    case
        when sub_check = 'official' then 'п.п. (отставание от региона по базовым минус по трудным заданиям)'
        else 'наклон логит-разницы с регионом по трудности задания'
    end::text as effect_unit,
    case when sub_check = 'official' then hard_minus_basic_pp else slope_ref end::double precision as threshold,
    case when sub_check = 'official' then '≥' else '>' end::text as comparison,
    case when sub_check = 'official' then 0 else slope_ref end::double precision as region_value,
    case when insufficient_reason is null then p_slope end::double precision as p_value,
    case when insufficient_reason is null then p_adjusted end::double precision as p_adjusted,
    case when insufficient_reason is null then slope_percentile end::double precision as percentile,
    rule_version::text as rule_version,
    case
        when insufficient_reason is not null then 'Признак не рассчитан: ' || insufficient_reason
        when sub_check = 'official'
            then
                'Отклонение от региона: базовые задания ' || round(basic_gap::numeric, 1) || ' п.п., задания '
                || hard_set || ' ' || round(hard_gap::numeric, 1) || ' п.п.; разность '
                || round(hard_minus_basic::numeric, 1) || ' п.п. (порог ' || hard_minus_basic_pp
                || ' п.п. при отставании на базовых); проверка наклоном: p = ' || round(p_slope::numeric, 4)
                || ', с поправкой Холма ' || round(p_adjusted::numeric, 4)
                || case when any_imputed then '; уровень части заданий оценён по выполнению в регионе' else '' end
        else
            'Наклон логит-разницы с регионом по трудности ' || round(slope::numeric, 3) || ' по ' || n_tasks
            || ' заданиям (df = ' || df || ') при обычном для школ той же работы ' || round(slope_ref::numeric, 3)
            || ', односторонний p = ' || round(p_slope::numeric, 4)
            || ', с поправкой Холма ' || round(p_adjusted::numeric, 4) || ' (уровень ' || alpha_family || ')'
    end::text as explanation,
    insufficient_reason::text as insufficient_reason
from rows_
