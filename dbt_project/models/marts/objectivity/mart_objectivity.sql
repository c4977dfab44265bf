-- STUB (branch shnor): the columns of contract C1's mart_objectivity with no rows, so that mart_low_results
-- builds before helper objcell's real model replaces this file at merge.
select
    null::text as school_id,
    null::text as school_name,
    null::text as municipality,
    null::integer as school_year,
    null::text as status,
    null::text as status_reason,
    null::text as checks_flagged,
    null::integer as n_checks_flagged,
    null::text as checks_flagged_previous_year,
    null::text as checks_insufficient,
    null::integer as n_checks_computed,
    null::text as rule_version,
    null::boolean as federal_listed,
    null::integer as federal_marker_count,
    null::text as federal_markers,
    null::text as federal_vs_computed
where false
