-- Academic performance and attendance per school × grade × reporting period (municipal feed).
-- Municipalities spell the period freely («1 четверть», «I полугодие», «Год»): it is decoded to a code
-- (q1–q4, h1–h2, year) so that quarters, halves and the year are never added together by mistake.
with source as (
    select * from {{ source('raw', 'performance') }}
),

decoded as (
    select
        source.*,
        lower(btrim(source.period)) as period_text,
        case
            when lower(source.period) ~ 'четверт' then 'quarter'
            when lower(source.period) ~ 'полугод' then 'half'
            when lower(source.period) ~ '^\s*(за\s+)?(учебный\s+)?год\s*$|итог' then 'year'
        end as period_kind,
        -- the term number is written in Arabic or Roman numerals
        case coalesce(substring(lower(source.period) from '^\s*(\d+|iv|iii|ii|i)\M'), '')
            when '1' then 1 when 'i' then 1
            when '2' then 2 when 'ii' then 2
            when '3' then 3 when 'iii' then 3
            when '4' then 4 when 'iv' then 4
        end as period_number
    from source
)

select
    school_id,
    year::integer as school_year,
    grade::integer as grade,
    coalesce(
        case period_kind
            when 'quarter' then 'q' || period_number
            when 'half' then 'h' || period_number
            when 'year' then 'year'
        end,
        period_text
    ) as period_code,
    case period_kind
        when 'quarter' then period_number || ' четверть'
        when 'half' then period_number || ' полугодие'
        when 'year' then 'год'
        else period
    end as period_name,
    period_kind,
    period_number,
    enrolled,
    failing,
    only_4_5,
    repeaters,
    lessons_missed,
    lessons_missed_unexcused
from decoded
