-- The seed reports' programme indicators per municipality and school year, each with its numerator,
-- denominator and the schools behind it: one query `where municipality = … and school_year = …` gives
-- every figure of the municipal monitoring note (seed 000) and of the programmes of seeds 001–004.
with targets as (
    select * from {{ ref('int_target_schools') }}
),

schools as (
    select * from {{ ref('dim_school') }}
),

passport as (
    select * from {{ ref('indicator_passport') }}
),

min_cell as (
    select
        min_cell_size,
        entry_years_required
    from {{ ref('int_method_parameters') }}
),

years as (
    select distinct school_year from {{ ref('int_school_results') }}
),

municipality_years as (
    select distinct
        schools.municipality,
        years.school_year
    from schools
    cross join years
    -- a school without a municipality is listed in mart_data_issues
    where schools.municipality is not null
),

-- which identifications could run in the year: an official ШНОР list loaded for the year; a context
-- index (ШНСУ) for at least one school of the municipality
list_years as (
    select distinct school_year from {{ ref('stg_lists__shnor') }}
),

context_years as (
    select distinct
        municipality,
        school_year
    from {{ ref('int_context_index') }}
),

-- I01, I02: counts of ШНОР and ШНСУ among the municipality's schools; I15: the share of ШНОР
counts as (
    select
        municipality_years.municipality,
        municipality_years.school_year,
        indicator.code as indicator_code,
        count(targets.school_id) filter (
            where indicator.code in ('I01', 'I15') and targets.is_shnor
            or indicator.code = 'I02' and targets.is_shnsu
        ) as numerator,
        null::bigint as numerator_lenient,
        (
            select count(*) from schools as s
            where s.municipality = municipality_years.municipality
        ) as denominator,
        array_agg(targets.school_id order by targets.school_id) filter (
            where indicator.code in ('I01', 'I15') and targets.is_shnor or indicator.code = 'I02' and targets.is_shnsu
        ) as school_ids
    from municipality_years
    cross join (values ('I01'), ('I02'), ('I15')) as indicator (code)
    left join targets
        on
            municipality_years.municipality = targets.municipality
            and municipality_years.school_year = targets.school_year
    group by municipality_years.municipality, municipality_years.school_year, indicator.code
),

-- I29, I30: the warehouse's computed ШНОР candidates, those whose results need confirmation (signs of
-- non-objectivity) counted apart; the base is the municipality's schools the rule could rank that year
low_results as (
    select * from {{ ref('mart_low_results') }}
),

computed as (
    select
        municipality_years.municipality,
        municipality_years.school_year,
        indicator.code as indicator_code,
        count(low_results.school_id) filter (
            where low_results.is_candidate and low_results.needs_confirmation = (indicator.code = 'I30')
        ) as numerator,
        null::bigint as numerator_lenient,
        count(low_results.school_id) filter (where low_results.result_score is not null) as denominator,
        array_agg(low_results.school_id order by low_results.school_id) filter (
            where low_results.is_candidate and low_results.needs_confirmation = (indicator.code = 'I30')
        ) as school_ids
    from municipality_years
    cross join (values ('I29'), ('I30')) as indicator (code)
    left join low_results
        on
            municipality_years.municipality = low_results.municipality
            and municipality_years.school_year = low_results.school_year
    group by municipality_years.municipality, municipality_years.school_year, indicator.code
),

-- the first year the rule ranks schools: a candidate needs entry_years_required years, so earlier counts are unknown
first_ranked as (
    select min(school_year) as school_year from {{ ref('int_low_results_candidates') }}
),

-- municipality-years where the objectivity checks could be computed for at least one school (a school-year whose
-- checks all lack data does not make the count of candidates needing confirmation known)
objectivity_years as (
    select distinct
        municipality,
        school_year
    from {{ ref('mart_objectivity') }}
    where status <> 'недостаточно данных'
),

-- I03: improvement programmes
programmes as (
    select
        targets.municipality,
        targets.school_year,
        'I03' as indicator_code,
        count(*) filter (where programmes.programme_written) as numerator,
        null::bigint as numerator_lenient,
        count(*) as denominator,
        array_agg(targets.school_id order by targets.school_id) filter (where programmes.programme_written)
            as school_ids
    from targets
    left join {{ ref('stg_municipal__improvement_programmes') }} as programmes
        on targets.school_id = programmes.school_id and targets.school_year = programmes.school_year
    group by targets.municipality, targets.school_year
),

-- I04–I10: positive dynamics (strict: a significant improvement) among target schools with enough results
dynamics as (
    select
        targets.municipality,
        targets.school_year,
        scope.indicator_code,
        count(*) filter (where dyn.dynamics_class = 'положительная') as numerator,
        count(*) filter (where dyn.is_positive_lenient) as numerator_lenient,
        count(*) as denominator,
        array_agg(targets.school_id order by targets.school_id) filter (where dyn.dynamics_class = 'положительная')
            as school_ids
    from targets
    cross join {{ ref('indicator_dynamics_scope') }} as scope
    inner join {{ ref('int_school_dynamics') }} as dyn
        on
            targets.school_id = dyn.school_id
            and targets.school_year = dyn.school_year
            and scope.procedure_code = dyn.procedure_code
            and scope.subject_code = dyn.subject_code
            and scope.grade = dyn.grade
            and dyn.in_indicator_base
    group by targets.municipality, targets.school_year, scope.indicator_code
),

-- I11–I13, I16, I17: teachers of target schools
teachers as (
    select
        targets.municipality,
        targets.school_year,
        indicator.code as indicator_code,
        count(*) filter (where indicator.flag) as numerator,
        null::bigint as numerator_lenient,
        count(*) as denominator,
        array_agg(distinct targets.school_id) filter (where indicator.flag) as school_ids
    from targets
    inner join {{ ref('stg_municipal__teachers') }} as t
        on targets.school_id = t.school_id and targets.school_year = t.school_year
    cross join
        lateral (
            values
            ('I11', t.support_municipal),
            ('I12', t.gap_diagnostic_done),
            ('I13', t.support_regional),
            ('I16', t.quality_course),
            ('I17', t.trained_3y)
        ) as indicator (code, flag)
    group by targets.municipality, targets.school_year, indicator.code
),

-- schools involved in regional events, per school year
regional_events as (
    select distinct
        school_id,
        school_year
    from {{ ref('stg_municipal__support_events') }}
    where level = 'regional'
),

-- I14: target schools involved in regional events of the school year
events as (
    select
        targets.municipality,
        targets.school_year,
        'I14' as indicator_code,
        count(*) filter (where involved.school_id is not null) as numerator,
        null::bigint as numerator_lenient,
        count(*) as denominator,
        array_agg(targets.school_id order by targets.school_id) filter (where involved.school_id is not null)
            as school_ids
    from targets
    left join regional_events as involved
        on targets.school_id = involved.school_id and targets.school_year = involved.school_year
    group by targets.municipality, targets.school_year
),

-- I18–I28: pupils of target schools from the performance (annual rows), ВсОШ and ИОМ feeds
performance as (
    select
        school_id,
        school_year,
        sum(enrolled) as enrolled,
        sum(failing) as failing,
        sum(lessons_missed) as lessons_missed,
        sum(lessons_missed_unexcused) as lessons_missed_unexcused
    from {{ ref('stg_municipal__performance') }}
    where period_code = 'year'
    group by school_id, school_year
),

olympiads as (
    select
        school_id,
        school_year,
    {% for stage in ['school', 'municipal', 'regional'] %}
    sum(participants) filter (where stage_code = '{{ stage }}') as participants_{{ stage }},
    sum(winners + prize_winners) filter (where stage_code = '{{ stage }}') as awarded_{{ stage }}
    {{- "," if not loop.last }}
    {% endfor %}
    from {{ ref('stg_municipal__olympiads') }}
    group by school_id, school_year
),

routes as (
    select
        school_id,
        school_year,
        sum(pupils_with_route) as pupils_with_route
    from {{ ref('stg_municipal__individual_routes') }}
    group by school_id, school_year
),

-- per target school: numerator, denominator and the pupils the figure describes (for suppression)
pupil_figures as (
    select
        targets.municipality,
        targets.school_year,
        targets.school_id,
        figure.indicator_code,
        figure.numerator,
        figure.denominator,
        figure.pupil_base
    from targets
    left join performance
        on targets.school_id = performance.school_id and targets.school_year = performance.school_year
    left join olympiads
        on targets.school_id = olympiads.school_id and targets.school_year = olympiads.school_year
    left join routes
        on targets.school_id = routes.school_id and targets.school_year = routes.school_year
    cross join lateral (
        values
        ('I18', performance.failing, performance.enrolled, performance.enrolled),
        ('I19', performance.enrolled - performance.failing, performance.enrolled, performance.enrolled),
        ('I20', performance.lessons_missed, performance.enrolled, performance.enrolled),
        ('I21', performance.lessons_missed_unexcused, performance.enrolled, performance.enrolled),
        ('I22', olympiads.participants_school, performance.enrolled, olympiads.participants_school),
        ('I23', olympiads.participants_municipal, performance.enrolled, olympiads.participants_municipal),
        ('I24', olympiads.participants_regional, performance.enrolled, olympiads.participants_regional),
        ('I25', olympiads.awarded_school, olympiads.participants_school, olympiads.participants_school),
        ('I26', olympiads.awarded_municipal, olympiads.participants_municipal, olympiads.participants_municipal),
        ('I27', olympiads.awarded_regional, olympiads.participants_regional, olympiads.participants_regional),
        ('I28', routes.pupils_with_route, performance.enrolled, routes.pupils_with_route)
    ) as figure (indicator_code, numerator, denominator, pupil_base)
),

pupils as (
    select
        municipality,
        school_year,
        indicator_code,
        sum(numerator) as numerator,
        null::bigint as numerator_lenient,
        sum(denominator) as denominator,
        array_agg(school_id order by school_id) filter (where numerator > 0) as school_ids,
        sum(pupil_base) as pupil_base
    from pupil_figures
    group by municipality, school_year, indicator_code
),

all_indicators as (
    select
        *,
        null::numeric as pupil_base
    from counts
    union all
    select
        *,
        null::numeric as pupil_base
    from computed
    union all
    select
        *,
        null::numeric as pupil_base
    from programmes
    union all
    select
        *,
        null::numeric as pupil_base
    from dynamics
    union all
    select
        *,
        null::numeric as pupil_base
    from teachers
    union all
    select
        *,
        null::numeric as pupil_base
    from events
    union all
    select * from pupils
),

-- a municipal figure about 1 to min_cell_size − 1 pupils is hidden like a school's cell
published as (
    select
        all_indicators.*,
        coalesce(all_indicators.pupil_base between 1 and min_cell.min_cell_size - 1, false) as is_hidden,
        all_indicators.pupil_base is not null
        and all_indicators.denominator between 1 and min_cell.min_cell_size - 1 as is_denominator_hidden
    from all_indicators
    cross join min_cell
),

figures as (
    select
        municipality_years.municipality,
        municipality_years.school_year,
        passport.indicator_code,
        passport.indicator_name,
        passport.unit,
        passport.seed,
        passport.sort_order,
        all_indicators.numerator,
        all_indicators.numerator_lenient,
        all_indicators.denominator,
        all_indicators.school_ids,
        coalesce(all_indicators.is_hidden, false) as is_hidden,
        coalesce(all_indicators.is_denominator_hidden, false) as is_denominator_hidden,
        -- why there is no figure (never a 0 in its place): identification that could not run, no rows
        case
            when passport.indicator_code in ('I01', 'I15') and list_years.school_year is null
                then 'идентификация не проводилась: официальный список ШНОР за год не загружен'
            when passport.indicator_code = 'I02' and context_years.school_year is null
                then 'идентификация не проводилась: нет социального паспорта школ муниципалитета за год'
            when passport.indicator_code in ('I01', 'I02', 'I15') then null
            when passport.indicator_code in ('I29', 'I30') and coalesce(all_indicators.denominator, 0) = 0
                then
                    'идентификация не проводилась: правило ШНОР не оценило за год ни одной школы муниципалитета '
                    || '(причины по школам — в mart_low_results)'
            when
                passport.indicator_code in ('I29', 'I30')
                and municipality_years.school_year < first_ranked.school_year + min_cell.entry_years_required - 1
                then
                    'недостаточно данных: кандидату нужно не меньше ' || min_cell.entry_years_required
                    || ' лет результатов, а правило ранжирует школы с ' || first_ranked.school_year || ' года'
            when passport.indicator_code = 'I30' and objectivity_years.school_year is null
                then 'недостаточно данных: проверка объективности результатов школ муниципалитета за год не проводилась'
            when passport.indicator_code in ('I29', 'I30') then null
            when coalesce(all_indicators.is_hidden, false)
                then 'скрыто: показатель описывает меньше ' || min_cell.min_cell_size || ' обучающихся'
            when not exists (
                select 1 from targets as t
                where
                    t.municipality = municipality_years.municipality and t.school_year = municipality_years.school_year
            ) then 'нет данных: в муниципалитете нет ШНОР и ШНСУ за год'
            when all_indicators.numerator is null
                then 'нет данных: нет сведений о ШНОР и ШНСУ муниципалитета для этого показателя'
            when passport.unit in ('%', 'уроков на обучающегося') and coalesce(all_indicators.denominator, 0) = 0
                then 'нет данных: знаменатель показателя равен 0'
            when passport.unit = '%' and all_indicators.numerator > all_indicators.denominator
                then 'несогласованные данные: числитель больше знаменателя (строки — в mart_data_issues)'
        end as reason_missing
    from municipality_years
    cross join passport
    cross join min_cell
    left join published as all_indicators
        on
            municipality_years.municipality = all_indicators.municipality
            and municipality_years.school_year = all_indicators.school_year
            and passport.indicator_code = all_indicators.indicator_code
    left join list_years on municipality_years.school_year = list_years.school_year
    cross join first_ranked
    left join objectivity_years
        on
            municipality_years.municipality = objectivity_years.municipality
            and municipality_years.school_year = objectivity_years.school_year
    left join context_years
        on
            municipality_years.municipality = context_years.municipality
            and municipality_years.school_year = context_years.school_year
)

select
    municipality::text as municipality,
    school_year::integer as school_year,
    indicator_code::text as indicator_code,
    indicator_name::text as indicator_name,
    unit::text as unit,
    case
        when reason_missing is not null then null
        when unit = '%' then round(100.0 * numerator / nullif(denominator, 0), 1)
        when unit = 'уроков на обучающегося' then round(numerator::numeric / nullif(denominator, 0), 1)
        else coalesce(numerator, 0)
    end::numeric(12, 1) as value,
    case when reason_missing is null then coalesce(numerator, 0) end::integer as numerator,
    case when reason_missing is null then numerator_lenient end::integer as numerator_lenient,
    case
        when reason_missing is null then round(100.0 * numerator_lenient / nullif(denominator, 0), 1)
    end::numeric(12, 1) as value_lenient,
    case when not is_denominator_hidden then coalesce(denominator, 0) end::integer as denominator,
    -- a hidden figure lists no schools: the list would tell the hidden count
    case when reason_missing is null then coalesce(array_to_string(school_ids, ', '), '') end::text as school_ids,
    reason_missing::text as reason_missing,
    coalesce(unit = '%' and numerator > denominator, false)::boolean as is_implausible,
    seed::text as seed,
    sort_order::integer as sort_order
from figures
