-- ШНОР: the official status by source (it always wins) beside the warehouse's computed candidates and
-- their reasons. Labels say «кандидат»: these are signs for targeted support, not a verdict. A candidate whose
-- results carry signs of non-objectivity (mart_objectivity) in a year that makes it one is «кандидат, результаты
-- требуют подтверждения»: low results must be objectively low.
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

params as (
    select
        entry_years_required::integer as entry_years_required,
        min_procedures::integer as min_procedures,
        min_procedures_ranked::integer as min_procedures_ranked,
        entry_window_years::integer as entry_window_years,
        n_min_identification::integer as n_min
    from {{ ref('int_method_parameters') }}
),

procedures_used as (
    -- what the method had for each school and year: procedures (× subject) with enough participants
    select
        school_id,
        school_year,
        count(distinct procedure_code || ':' || subject_code) as n_procedures,
        -- a cell can be compared only if other schools share it (a standardised measure exists)
        count(distinct procedure_code || ':' || subject_code) filter (where z_low is not null or z_score is not null)
            as n_comparable
    from (
        select
            school_id,
            school_year,
            procedure_code,
            subject_code,
            z_low,
            z_score
        from {{ ref('int_low_results_cells') }}
        union all
        select
            school_id,
            school_year,
            procedure_code,
            subject_code,
            z_low,
            z_score
        from {{ ref('int_low_results_small_cells') }}
    ) as all_cells
    group by school_id, school_year
),

reasons as (
    select
        school_id,
        school_year,
        string_agg(reason, '; ' order by procedure_code, subject_code) as reasons
    from {{ ref('int_low_results_reasons') }}
    group by school_id, school_year
),

objectivity as (
    select
        school_id,
        school_year,
        status
    from {{ ref('mart_objectivity') }}
),

objectivity_window as (
    -- the years whose results make the school a candidate (in the worst share within the entry window, and the
    -- year itself) and whose results have signs of non-objectivity
    select
        candidates.school_id,
        candidates.school_year,
        string_agg(earlier.school_year::text, ', ' order by earlier.school_year) as objectivity_years
    from candidates
    cross join params
    inner join candidates as earlier
        on
            candidates.school_id = earlier.school_id
            and candidates.school_year - earlier.school_year between 0 and params.entry_window_years - 1
            and (earlier.in_worst_entry or candidates.school_year = earlier.school_year)
    inner join objectivity
        on earlier.school_id = objectivity.school_id and earlier.school_year = objectivity.school_year
    where candidates.is_candidate and objectivity.status = 'признаки необъективности'
    group by candidates.school_id, candidates.school_year
),

list_years as (
    -- years whose official list is loaded: an event needs the list of the year and of the year before
    select distinct school_year from {{ ref('stg_lists__shnor') }}
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
),

history as (
    -- last year's status beside this year's: entry and exit, for the computed and the official status
    select
        keys.school_id,
        keys.school_year,
        lag(candidates.is_candidate) over school_years as was_candidate,
        lag(keys.school_year) over school_years = keys.school_year - 1 as has_last_year,
        lag(official.school_id is not null) over school_years as was_official,
        -- nobody can enter before the rule has entry_years_required years of results: no events until then
        keys.school_year < min(candidates.school_year) over () + params.entry_years_required as is_warm_up,
        keys.school_year in (select list_years.school_year from list_years)
        and keys.school_year - 1 in (select list_years.school_year from list_years) as lists_comparable
    from keys
    cross join params
    left join candidates using (school_id, school_year)
    left join official using (school_id, school_year)
    window school_years as (partition by keys.school_id order by keys.school_year)
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
    candidates.n_procedures::integer as n_procedures,
    (
        candidates.identification_basis
        || case
            when candidates.is_reduced_basis
                then ' (правило требует не меньше ' || params.min_procedures || '; оценка по неполной базе)'
            else ''
        end
    )::text as identification_basis,
    ('Оценка ' || candidates.identification_basis || '. ' || reasons.reasons)::text as reasons,
    coalesce(objectivity.status, 'проверка не проводилась')::text as objectivity_status,
    objectivity_window.objectivity_years::text as objectivity_years,
    (objectivity_window.objectivity_years is not null)::boolean as needs_confirmation,
    case
        when history.is_warm_up then null
        when candidates.is_candidate and not coalesce(history.has_last_year and history.was_candidate, false)
            then 'вход'
        when candidates.is_candidate then 'остаётся'
        when history.has_last_year and history.was_candidate then 'выход'
    end::text as candidate_event,
    case
        when not history.lists_comparable then null
        when official.school_id is not null and not coalesce(history.has_last_year and history.was_official, false)
            then 'включена'
        when official.school_id is null and history.has_last_year and history.was_official then 'исключена'
    end::text as official_event,
    case
        when official.school_id is not null then 'ШНОР (официальный список: ' || official.official_sources || ')'
        when candidates.is_candidate and objectivity_window.objectivity_years is not null
            then 'кандидат, результаты требуют подтверждения'
        when candidates.is_candidate then 'кандидат в ШНОР'
        when candidates.school_id is null then 'недостаточно данных для расчёта'
        else 'признаков ШНОР нет'
    end::text as status_label,
    -- why the warehouse's rule could not judge the school this year (its status then comes from the list only)
    case
        when candidates.school_id is not null then null
        when coalesce(procedures_used.n_procedures, 0) = 0
            then 'идентификация не проводилась: нет результатов с числом участников не меньше ' || params.n_min
        when procedures_used.n_procedures >= params.min_procedures_ranked
            then
                'идентификация не проводилась: процедур, где есть с кем сравнить (другие школы той же ячейки), '
                || procedures_used.n_comparable || ' (нужно не меньше ' || params.min_procedures_ranked || ')'
        else
            'идентификация не проводилась: процедур с результатами ' || procedures_used.n_procedures
            || ' (нужно не меньше ' || params.min_procedures_ranked || ')'
    end::text as identification_note
from keys
left join candidates using (school_id, school_year)
left join official using (school_id, school_year)
left join history using (school_id, school_year)
left join procedures_used using (school_id, school_year)
left join reasons using (school_id, school_year)
left join objectivity using (school_id, school_year)
left join objectivity_window using (school_id, school_year)
cross join params
left join schools on keys.school_id = schools.school_id
