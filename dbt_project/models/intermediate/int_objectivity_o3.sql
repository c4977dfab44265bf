{{ config(materialized='table') }}
-- Placeholder for O3 (owned by the pupil-level checks): no rows, the columns of the objectivity contract, so
-- that mart_objectivity_flags builds before the real check lands.
select
    null::text as school_id,
    null::integer as school_year,
    null::text as procedure_code,
    null::text as subject_code,
    null::integer as grade,
    null::text as check_code,
    null::text as sub_check,
    null::text as data_basis,
    null::text as status,
    null::integer as n_participants,
    null::double precision as effect,
    null::text as effect_unit,
    null::double precision as threshold,
    null::text as comparison,
    null::double precision as region_value,
    null::double precision as p_value,
    null::double precision as p_adjusted,
    null::double precision as percentile,
    null::text as rule_version,
    null::text as explanation,
    null::text as insufficient_reason
where false
