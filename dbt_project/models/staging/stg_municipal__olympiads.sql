-- ВсОШ participation per school × subject × stage (municipal feed): counts of participants, winners and
-- prize-winners as the municipality reports them (participations by subject, not distinct pupils).
with source as (
    select * from {{ source('raw', 'olympiads') }}
)

select
    school_id,
    year::integer as school_year,
    -- municipalities differ in case and spacing of subject names (C collation: lower() needs pg_c_utf8)
    lower(regexp_replace(btrim(subject), '\s+', ' ', 'g') collate pg_c_utf8) as subject,
    stage as stage_code,
    case stage
        when 'school' then 'школьный'
        when 'municipal' then 'муниципальный'
        when 'regional' then 'региональный'
        when 'final' then 'заключительный'
    end as stage_name,
    case stage when 'school' then 1 when 'municipal' then 2 when 'regional' then 3 when 'final' then 4 end
        as stage_order,
    participants,
    winners,
    prize_winners
from source
-- a row without its school or year cannot be placed in any mart: it is left out here and listed, with
-- the reason, in mart_data_issues
where school_id is not null and year is not null
