-- Academic performance and attendance per school × grade × reporting period (municipal feed).
-- Municipalities spell the period freely («1 четверть», «I полугодие», «Год»): it is decoded to a code
-- (q1–q4, h1–h2, year) so that quarters, halves and the year are never added together by mistake.
with source as (
    select * from {{ source('raw', 'performance') }}
),

decoded as (
    select
        source.*,
        -- the database collation is C, under which lower() leaves Cyrillic letters as they are
        -- (noqa: sqlfluff parses the collation name as a column reference)
        lower(btrim(source.period) collate pg_c_utf8) as period_text  -- noqa: RF03
    from source
),

kinds as (
    select
        decoded.*,
        case
            when decoded.period_text ~ 'четв' then 'quarter'
            when decoded.period_text ~ 'полуг' then 'half'
            when decoded.period_text ~ '^(за\s+)?(учебный\s+)?год$|итог' then 'year'
        end as period_kind,
        -- the term number is written in Arabic or Roman numerals
        case coalesce(substring(decoded.period_text from '^(\d+|iv|iii|ii|i)\M'), '')
            when '1' then 1 when 'i' then 1
            when '2' then 2 when 'ii' then 2
            when '3' then 3 when 'iii' then 3
            when '4' then 4 when 'iv' then 4
        end as period_number
    from decoded
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
    case
        when period_kind = 'quarter' and period_number is not null then period_number || ' четверть'
        when period_kind = 'half' and period_number is not null then period_number || ' полугодие'
        when period_kind = 'year' then 'год'
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
from kinds
-- a row without its school or year cannot be placed in any mart: it is left out here and listed, with
-- the reason, in mart_data_issues
where school_id is not null and year is not null
