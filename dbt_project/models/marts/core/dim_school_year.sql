-- School years present in the data. A school year is keyed by its spring year (2026 = 2025/26), as in
-- every feed's staging; it runs from 1 September to 31 August, the boundary support events use too.
with years as (
    select school_year from {{ ref('stg_fis_oko__vpr_results') }}
    union
    select school_year from {{ ref('stg_fis_oko__vpr_mark_stats') }}
    union
    select school_year from {{ ref('stg_fis_oko__vpr_task_stats') }}
    union
    select school_year from {{ ref('stg_rcoi__gia_results') }}
    union
    select school_year from {{ ref('stg_coko__kdr_results') }}
    union
    select school_year from {{ ref('stg_context__social_passport') }}
    union
    select school_year from {{ ref('stg_lists__shnor') }}
    union
    select school_year from {{ ref('stg_municipal__teachers') }}
    union
    select school_year from {{ ref('stg_municipal__improvement_programmes') }}
    union
    select school_year from {{ ref('stg_municipal__support_events') }}
)

select
    school_year::integer as school_year,
    ((school_year - 1) || '/' || lpad((school_year % 100)::text, 2, '0'))::text as school_year_label,
    make_date(school_year - 1, 9, 1) as starts_on,
    make_date(school_year, 8, 31) as ends_on,
    school_year = max(school_year) over () as is_latest
from years
where school_year is not null
