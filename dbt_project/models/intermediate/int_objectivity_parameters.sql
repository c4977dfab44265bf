-- The objectivity parameters in force in each school year, per check: one row per school year × check × parameter.
-- A check-specific row (check_code O1–O10) replaces the common one (check_code «all») for that check. School years
-- span the years of the ВПР results in the warehouse; a check reads its values with the macro
-- objectivity_parameters(check_code, [codes]), joined on school_year. A table with fresh statistics: as a view the
-- planner estimated it at one row and chose nested loops over the checks' large joins.
{{ config(materialized='table', post_hook='analyze {{ this }}') }}

with parameters as (
    select * from {{ ref('objectivity_parameters') }}
),

years as (
    select distinct school_year from {{ ref('int_school_results') }}
),

checks as (
    select ('O' || n)::text as check_code from generate_series(1, 10) as n
),

candidates as (
    select
        years.school_year,
        checks.check_code,
        parameters.parameter_code,
        parameters.value,
        parameters.rule_version,
        parameters.source,
        -- the check's own row wins over the common one
        row_number() over (
            partition by years.school_year, checks.check_code, parameters.parameter_code
            order by (parameters.check_code = checks.check_code) desc
        ) as precedence
    from years
    cross join checks
    inner join parameters
        on
            parameters.check_code in (checks.check_code, 'all')
            and years.school_year between parameters.valid_from and parameters.valid_to
)

select
    school_year,
    check_code,
    parameter_code,
    value::double precision as value,
    rule_version,
    source
from candidates
where precedence = 1
