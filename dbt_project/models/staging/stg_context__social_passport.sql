-- Social passport: context shares per school and school year (percent).
select
    school_id,
    school_year,
    enrolment,
    pct_low_income,
    pct_disability,
    pct_non_native_russian,
    pct_prevention_register,
    pct_single_parent,
    pct_no_higher_education,
    pct_unemployed_parents
from {{ source('raw', 'social_passport') }}
-- a row without its school or year cannot be placed in any mart: it is left out here and listed, with
-- the reason, in mart_data_issues
where school_id is not null and school_year is not null
