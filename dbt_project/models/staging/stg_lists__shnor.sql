-- Official ШНОР lists by source (Рособрнадзор/ФИОКО, regional ЦОКО).
select
    school_id,
    year as school_year,
    source as list_source
from {{ source('raw', 'shnor_list') }}
