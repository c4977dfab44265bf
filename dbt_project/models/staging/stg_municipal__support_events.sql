-- Support events and the schools involved; the school year of an event is keyed by its spring year.
select
    events.event_date,
    case when extract(month from events.event_date) >= 9 then extract(year from events.event_date) + 1
        else extract(year from events.event_date) end::integer as school_year,
    events.level,
    events.event_kind,
    links.school_id
from {{ source('raw', 'support_events') }} as events
inner join {{ source('raw', 'support_event_schools') }} as links
    on events.load_id = links.load_id and events.source_row = links.source_row
