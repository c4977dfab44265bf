-- BI-facing growth of the same pupils: per school (the school of the later year), link and year, the
-- median growth percentile with an approximate 95 % interval (normal approximation to the order
-- statistics of the median); groups under min_cell_size pupils are suppressed.
with growth as (
    select * from {{ ref('int_pupil_growth') }}
),

links as (
    select * from {{ ref('growth_links') }}
),

schools as (
    select * from {{ ref('dim_school') }}
),

params as (
    select * from {{ ref('int_method_parameters') }}
),

sizes as (
    select
        link_code,
        school_id,
        school_year,
        count(*) as n_pupils
    from growth
    group by link_code, school_id, school_year
),

medians as (
    select
        growth.link_code,
        growth.school_id,
        growth.school_year,
        sizes.n_pupils,
        percentile_cont(0.5) within group (order by growth.growth_percentile) as median_growth,
        percentile_cont(greatest(0.5 - params.confidence_z / (2 * sqrt(sizes.n_pupils)), 0))
        within group (order by growth.growth_percentile) as median_lower,
        percentile_cont(least(0.5 + params.confidence_z / (2 * sqrt(sizes.n_pupils)), 1))
        within group (order by growth.growth_percentile) as median_upper
    from growth
    inner join sizes using (link_code, school_id, school_year)
    cross join params
    group by growth.link_code, growth.school_id, growth.school_year, sizes.n_pupils, params.confidence_z
)

select
    medians.school_id::text as school_id,
    schools.school_name::text as school_name,
    schools.municipality::text as municipality,
    medians.link_code::text as link_code,
    links.link_name::text as link_name,
    medians.school_year::integer as school_year,
    'те же обучающиеся'::text as comparison_kind,
    medians.n_pupils::integer as n_pupils,
    case when not medians.suppressed then round(medians.median_growth::numeric, 1) end::numeric(5, 1) as median_growth,
    case when not medians.suppressed then round(medians.median_lower::numeric, 1) end::numeric(5, 1)
        as median_growth_lower,
    case when not medians.suppressed then round(medians.median_upper::numeric, 1) end::numeric(5, 1)
        as median_growth_upper,
    case
        when medians.suppressed then 'скрыто (менее минимального числа обучающихся)'
        when medians.median_lower > 50 then 'рост выше типичного'
        when medians.median_upper < 50 then 'рост ниже типичного'
        else 'рост в пределах типичного'
    end::text as growth_class
from (
    select
        medians.*,
        medians.n_pupils < params.min_cell_size as suppressed
    from medians
    cross join params
) as medians
inner join links on medians.link_code = links.link_code
left join schools on medians.school_id = schools.school_id
