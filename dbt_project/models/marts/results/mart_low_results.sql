-- ШНОР: the official status by source (it always wins) beside the warehouse's computed candidates and
-- their reasons. Labels say «кандидат»: these are signs for targeted support, not a verdict.
with candidates as (
    select * from {{ ref('int_low_results_candidates') }}
),

official as (
    select
        school_id,
        school_year,
        string_agg(
            case list_source
                when 'rosobrnadzor' then 'Рособрнадзор' when 'fioko' then 'ФИОКО'
                when 'coko' then 'ЦОКО' else list_source
            end, ', ' order by list_source
        ) as official_sources
    from {{ ref('stg_lists__shnor') }}
    group by school_id, school_year
),

schools as (
    select * from {{ ref('dim_school') }}
),

keys as (
    select
        school_id,
        school_year
    from candidates
    union
    select
        school_id,
        school_year
    from official
)

select
    keys.school_id::text as school_id,
    schools.school_name::text as school_name,
    schools.municipality::text as municipality,
    schools.comparison_group::text as comparison_group,
    keys.school_year::integer as school_year,
    (official.school_id is not null)::boolean as is_official,
    official.official_sources::text as official_sources,
    coalesce(candidates.is_candidate, false)::boolean as is_candidate,
    round(candidates.result_score::numeric, 3)::numeric(8, 3) as result_score,
    round((100 * candidates.worst_share)::numeric, 1)::numeric(5, 1) as worst_share_pct,
    candidates.worst_years::text as worst_years,
    candidates.procedures::text as procedures,
    case
        when official.school_id is not null then 'ШНОР (официальный список: ' || official.official_sources || ')'
        when candidates.is_candidate then 'кандидат в ШНОР'
        when candidates.school_id is null then 'недостаточно данных для расчёта'
        else 'признаков ШНОР нет'
    end::text as status_label
from keys
left join candidates using (school_id, school_year)
left join official using (school_id, school_year)
left join schools on keys.school_id = schools.school_id
