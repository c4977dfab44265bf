-- Support events and the schools involved; the school year of an event is keyed by its spring year.
-- An event has no identifier of its own: its plan-report file and row name it (a corrected file of the
-- same name replaces the events, so the key survives a reload).
select
    events.event_date,
    case
        when extract(month from events.event_date) >= 9 then extract(year from events.event_date) + 1
        else extract(year from events.event_date)
    end::integer as school_year,
    events.level,
    events.event_kind,
    links.school_id,
    md5(events.source_file || '#' || events.source_row) as event_id,
    events.source_file,
    events.source_row,
    events.topic,
    events.participants,
    case events.level
        when 'school' then 'школьный' when 'municipal' then 'муниципальный'
        when 'regional' then 'региональный' when 'federal' then 'федеральный'
    end as level_name
from {{ source('raw', 'support_events') }} as events
inner join {{ source('raw', 'support_event_schools') }} as links
    on events.load_id = links.load_id and events.source_row = links.source_row
