-- ШНСУ, the context index: each disadvantage (social passport shares, distance, rural, small school) is
-- standardised across the region's schools of the year and signed so that higher = more advantaged; the
-- index is their mean. A missing component takes the regional median (and is counted).
with passport as (
    select * from {{ ref('stg_context__social_passport') }}
),

schools as (
    select * from {{ ref('dim_school') }}
),

components as (
    select
        passport.school_id,
        passport.school_year,
        schools.municipality,
        component.name,
        component.value
    from passport
    inner join schools using (school_id)
    cross join lateral (
        values
        ('low_income', passport.pct_low_income::double precision),
        ('disability', passport.pct_disability::double precision),
        ('non_native_russian', passport.pct_non_native_russian::double precision),
        ('prevention_register', passport.pct_prevention_register::double precision),
        ('single_parent', passport.pct_single_parent::double precision),
        ('no_higher_education', passport.pct_no_higher_education::double precision),
        ('unemployed_parents', passport.pct_unemployed_parents::double precision),
        ('distance', schools.distance_km::double precision),
        ('rural', schools.is_rural::integer::double precision),
        ('small_school', schools.is_small_school::integer::double precision)
    ) as component (name, value)
),

checked as (
    -- a share outside 0–100 % makes no sense (listed in mart_data_issues): it counts as missing
    select
        school_id,
        school_year,
        municipality,
        name,
        case when name in ('distance', 'rural', 'small_school') or value between 0 and 100 then value end as value
    from components
),

medians as (
    select
        school_year,
        name,
        percentile_cont(0.5) within group (order by value) as median_value
    from checked
    where value is not null
    group by school_year, name
),

imputed as (
    select
        checked.school_id,
        checked.school_year,
        checked.municipality,
        checked.name,
        coalesce(checked.value, medians.median_value) as value,
        checked.value is null as is_imputed
    from checked
    inner join medians using (school_year, name)
),

standardised as (
    select
        *,
        -- every component is a disadvantage: the sign makes higher = more advantaged
        -(value - avg(value) over component_year) / nullif(stddev_samp(value) over component_year, 0) as z
    from imputed
    window component_year as (partition by school_year, name)
)

select
    school_id,
    school_year,
    municipality,
    avg(z) as context_index,
    count(*) filter (where is_imputed) as imputed_components,
    count(*) as components
from standardised
where z is not null
group by school_id, school_year, municipality
