-- The seed reports' programme indicators per municipality and school year, each with its numerator,
-- denominator and the schools behind it: one query `where municipality = … and school_year = …` gives
-- every figure of the municipal monitoring note (seed 000).
with targets as (
    select * from {{ ref('int_target_schools') }}
),

schools as (
    select * from {{ ref('dim_school') }}
),

passport as (
    select * from {{ ref('indicator_passport') }}
),

years as (
    select distinct school_year from {{ ref('int_school_results') }}
),

municipality_years as (
    select distinct schools.municipality, years.school_year
    from schools
    cross join years
),

-- I01, I02: counts of ШНОР and ШНСУ among the municipality's schools
counts as (
    select
        municipality_years.municipality,
        municipality_years.school_year,
        indicator.code as indicator_code,
        count(targets.school_id) filter (where indicator.code = 'I01' and targets.is_shnor or
                                                indicator.code = 'I02' and targets.is_shnsu) as numerator,
        null::bigint as numerator_lenient,
        (select count(*) from schools as s where s.municipality = municipality_years.municipality) as denominator,
        array_agg(targets.school_id order by targets.school_id) filter (
            where indicator.code = 'I01' and targets.is_shnor or indicator.code = 'I02' and targets.is_shnsu
        ) as school_ids
    from municipality_years
    cross join (values ('I01'), ('I02')) as indicator (code)
    left join targets
        on
            municipality_years.municipality = targets.municipality
            and municipality_years.school_year = targets.school_year
    group by municipality_years.municipality, municipality_years.school_year, indicator.code
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

-- I11–I13: teachers of target schools
teachers as (
    select
        targets.municipality,
        targets.school_year,
        indicator.code as indicator_code,
        count(*) filter (where case indicator.code when 'I11' then t.support_municipal
            when 'I12' then t.gap_diagnostic_done else t.support_regional end) as numerator,
        null::bigint as numerator_lenient,
        count(*) as denominator,
        array_agg(distinct targets.school_id) filter (where case indicator.code when 'I11' then t.support_municipal
            when 'I12' then t.gap_diagnostic_done else t.support_regional end) as school_ids
    from targets
    inner join {{ ref('stg_municipal__teachers') }} as t
        on targets.school_id = t.school_id and targets.school_year = t.school_year
    cross join (values ('I11'), ('I12'), ('I13')) as indicator (code)
    group by targets.municipality, targets.school_year, indicator.code
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
    left join (
        select distinct school_id, school_year
        from {{ ref('stg_municipal__support_events') }}
        where level = 'regional'
    ) as involved
        on targets.school_id = involved.school_id and targets.school_year = involved.school_year
    group by targets.municipality, targets.school_year
),

all_indicators as (
    select * from counts
    union all select * from programmes
    union all select * from dynamics
    union all select * from teachers
    union all select * from events
)

select
    municipality_years.municipality::text as municipality,
    municipality_years.school_year::integer as school_year,
    passport.indicator_code::text as indicator_code,
    passport.indicator_name::text as indicator_name,
    passport.unit::text as unit,
    case
        when passport.unit = 'школ' then coalesce(all_indicators.numerator, 0)
        else round(100.0 * all_indicators.numerator / nullif(all_indicators.denominator, 0), 1)
    end::numeric(7, 1) as value,
    coalesce(all_indicators.numerator, 0)::integer as numerator,
    all_indicators.numerator_lenient::integer as numerator_lenient,
    round(100.0 * all_indicators.numerator_lenient / nullif(all_indicators.denominator, 0), 1)::numeric(7, 1)
        as value_lenient,
    coalesce(all_indicators.denominator, 0)::integer as denominator,
    coalesce(array_to_string(all_indicators.school_ids, ', '), '')::text as school_ids,
    passport.seed::text as seed,
    passport.sort_order::integer as sort_order
from municipality_years
cross join passport
left join all_indicators
    on
        municipality_years.municipality = all_indicators.municipality
        and municipality_years.school_year = all_indicators.school_year
        and passport.indicator_code = all_indicators.indicator_code
