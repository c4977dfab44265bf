-- Assessment procedures (ВПР, ОГЭ, ЕГЭ, КДР) from seed procedures: one row per procedure.
with procedures as (
    select * from {{ ref('procedures') }}
)

select
    procedure_code::text as procedure_code,
    procedure_name::text as procedure_name,
    result_kind::text as result_kind,
    low_result_rule::text as low_result_rule,
    source::text as data_source
from procedures
