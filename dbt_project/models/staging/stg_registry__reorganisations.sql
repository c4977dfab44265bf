-- Renames, mergers, code changes and branches, with dates.
select
    event_date,
    event_kind,
    registry_code_before as school_id_before,
    registry_code_after as school_id_after,
    name_before,
    name_after,
    login_before,
    rcoi_before
from {{ source('raw', 'school_reorganisations') }}
