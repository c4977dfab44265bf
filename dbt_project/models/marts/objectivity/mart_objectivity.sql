-- The overall objectivity status per school × school year, from mart_objectivity_flags: «признаки
-- необъективности» when at least overall_min_checks different checks flag the year, or one check flags
-- overall_repeat_years years running; «отдельные признаки» for fewer; «нет признаков» when at least one check
-- was computed and none flagged; «недостаточно данных» when none could be computed. A check counts only once it
-- is computed somewhere in the warehouse (O7 has no feed yet). The federal list of schools with markers of
-- non-objective results stands beside the status and never enters it.
with flags as (
    select * from {{ ref('mart_objectivity_flags') }}
),

params as (
    select
        school_year,
        max(value) filter (where parameter_code = 'overall_min_checks') as overall_min_checks,
        max(value) filter (where parameter_code = 'overall_repeat_years') as overall_repeat_years,
        max(rule_version) filter (where parameter_code = 'overall_min_checks') as rule_version
    from {{ ref('int_objectivity_parameters') }}
    where parameter_code in ('overall_min_checks', 'overall_repeat_years')
    group by school_year
),

live_checks as (
    -- checks with data somewhere: the others (no feed yet) are left out of the counts
    select distinct check_code
    from flags
    where status in ('признак', 'нет признаков')
),

school_checks as (
    select
        flags.school_id,
        flags.school_year,
        flags.check_code,
        bool_or(flags.status = 'признак') as is_flagged,
        bool_or(flags.status in ('признак', 'нет признаков')) as is_computed,
        flags.check_code in (select live_checks.check_code from live_checks) as is_live
    from flags
    group by flags.school_id, flags.school_year, flags.check_code
),

repeats as (
    -- a check flagged in each of the last overall_repeat_years years
    select
        this_year.school_id,
        this_year.school_year,
        this_year.check_code,
        string_agg(earlier.school_year::text, ', ' order by earlier.school_year) as years_flagged
    from school_checks as this_year
    inner join params on this_year.school_year = params.school_year
    inner join school_checks as earlier
        on
            this_year.school_id = earlier.school_id
            and this_year.check_code = earlier.check_code
            and earlier.school_year between this_year.school_year - params.overall_repeat_years + 1
            and this_year.school_year
            and earlier.is_flagged
    where this_year.is_flagged and this_year.is_live
    group by this_year.school_id, this_year.school_year, this_year.check_code, params.overall_repeat_years
    having count(distinct earlier.school_year) >= params.overall_repeat_years
),

check_order as (
    -- O1 … O10 in their numeric order
    select
        *,
        substring(check_code from 2)::integer as check_number
    from school_checks
),

school_years as (
    select
        check_order.school_id,
        check_order.school_year,
        count(*) filter (where check_order.is_flagged and check_order.is_live) as n_checks_flagged,
        string_agg(check_order.check_code, ', ' order by check_order.check_number)
        filter (where check_order.is_flagged and check_order.is_live) as checks_flagged,
        count(*) filter (where check_order.is_computed and check_order.is_live) as n_checks_computed,
        string_agg(check_order.check_code, ', ' order by check_order.check_number)
        filter (where not check_order.is_computed) as checks_insufficient
    from check_order
    group by check_order.school_id, check_order.school_year
),

previous as (
    select
        school_id,
        school_year + 1 as school_year,
        checks_flagged as checks_flagged_previous_year
    from school_years
),

repeated as (
    select
        repeats.school_id,
        repeats.school_year,
        string_agg(
            repeats.check_code || ' ' || params.overall_repeat_years::integer
            || case when params.overall_repeat_years between 2 and 4 then ' года' else ' лет' end
            || ' подряд (' || repeats.years_flagged || ')',
            '; ' order by substring(repeats.check_code from 2)::integer
        ) as repeat_reason
    from repeats
    inner join params on repeats.school_year = params.school_year
    group by repeats.school_id, repeats.school_year
),

federal_years as (
    -- the years whose federal list is in the warehouse
    select distinct school_year from {{ ref('stg_lists__objectivity_markers') }}
),

federal as (
    select
        school_id,
        school_year,
        max(marker_count) as federal_marker_count,
        string_agg(
            grade || ' ' || list_subject_code || case when marker > 1 then ' (' || marker || ')' else '' end,
            ', ' order by grade, list_subject_code
        ) filter (where marker > 0) as federal_markers
    from {{ ref('stg_lists__objectivity_markers') }}
    group by school_id, school_year
),

keys as (
    select
        school_id,
        school_year
    from school_years
    union
    select
        school_id,
        school_year
    from federal
),

statuses as (
    select
        keys.school_id,
        keys.school_year,
        params.rule_version,
        coalesce(school_years.n_checks_flagged, 0)::integer as n_checks_flagged,
        school_years.checks_flagged,
        previous.checks_flagged_previous_year,
        school_years.checks_insufficient,
        coalesce(school_years.n_checks_computed, 0)::integer as n_checks_computed,
        repeated.repeat_reason,
        case
            when
                school_years.n_checks_flagged >= params.overall_min_checks or repeated.repeat_reason is not null
                then 'признаки необъективности'
            when school_years.n_checks_flagged >= 1 then 'отдельные признаки'
            when school_years.n_checks_computed >= 1 then 'нет признаков'
            else 'недостаточно данных'
        end as status,
        params.overall_min_checks,
        params.overall_repeat_years,
        federal_years.school_year is not null as is_federal_year,
        federal.school_id is not null as is_federal_listed,
        federal.federal_marker_count::integer as federal_marker_count,
        federal.federal_markers
    from keys
    left join params on keys.school_year = params.school_year
    left join school_years on keys.school_id = school_years.school_id and keys.school_year = school_years.school_year
    left join previous on keys.school_id = previous.school_id and keys.school_year = previous.school_year
    left join repeated on keys.school_id = repeated.school_id and keys.school_year = repeated.school_year
    left join federal_years on keys.school_year = federal_years.school_year
    left join federal on keys.school_id = federal.school_id and keys.school_year = federal.school_year
)

select
    statuses.school_id,
    schools.school_name,
    schools.municipality,
    statuses.school_year,
    statuses.status,
    case statuses.status
        when 'признаки необъективности'
            then concat_ws(
                '; ',
                case
                    when statuses.n_checks_flagged >= statuses.overall_min_checks then
                        statuses.n_checks_flagged || ' разных признака в году: ' || statuses.checks_flagged
                end,
                statuses.repeat_reason
            )
        when 'отдельные признаки'
            then
                'признак '
                || statuses.checks_flagged
                || ' (итоговый статус — при '
                || statuses.overall_min_checks::integer
                || ' разных признаках в году или одном признаке ' || statuses.overall_repeat_years::integer
                || ' года подряд)'
        when 'нет признаков'
            then
                'рассчитано признаков: ' || statuses.n_checks_computed || ', ни один не сработал'
        else 'ни один признак не рассчитан: ' || coalesce(statuses.checks_insufficient, 'нет результатов ВПР')
    end as status_reason,
    statuses.checks_flagged,
    statuses.n_checks_flagged,
    statuses.checks_flagged_previous_year,
    statuses.checks_insufficient,
    statuses.n_checks_computed,
    statuses.rule_version,
    -- the federal list, beside the computed status and never part of it; null where that year's list is not loaded
    case when statuses.is_federal_year then statuses.is_federal_listed end as federal_listed,
    statuses.federal_marker_count,
    statuses.federal_markers,
    case
        when not statuses.is_federal_year then 'федеральный список за этот год не загружен'
        when statuses.is_federal_listed and statuses.status = 'признаки необъективности'
            then 'в федеральном списке; расчёт тоже нашёл признаки необъективности'
        when statuses.is_federal_listed and statuses.status = 'отдельные признаки'
            then 'в федеральном списке; расчёт нашёл отдельные признаки'
        when statuses.is_federal_listed and statuses.status = 'нет признаков'
            then 'в федеральном списке, расчёт признаков не нашёл'
        when statuses.is_federal_listed then 'в федеральном списке; для расчёта недостаточно данных'
        when statuses.status = 'признаки необъективности'
            then 'нет в федеральном списке; расчёт нашёл признаки необъективности'
        when statuses.status = 'отдельные признаки' then 'нет в федеральном списке; расчёт нашёл отдельные признаки'
        else 'нет в федеральном списке'
    end as federal_vs_computed
from statuses
left join {{ ref('dim_school') }} as schools on statuses.school_id = schools.school_id
