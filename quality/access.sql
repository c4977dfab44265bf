-- Who reads qc (applied after every run, once dbt has created the roles and access.analyst_scopes):
-- BI (edu_reader) reads everything; a municipal analyst reads region-level tables (runs, validations,
-- expectation results: counts only) and, in the tables that name a municipality, only their own rows.
grant usage on schema qc to edu_reader, edu_municipal_analyst;
-- table by table, never "all tables": the runner's working objects live in qc_work, granted to nobody
grant select on qc.runs, qc.run_loads, qc.validations, qc.expectation_results, qc.expectation_failures,
    qc.blocked_loads, qc.quarantine_summary, qc.feed_volumes, qc.withheld_marts to edu_reader, edu_municipal_analyst;
-- failed Airflow tasks: BI only (an error text may name another municipality's file)
grant select on qc.task_failures to edu_reader;
revoke all on schema qc_work from edu_reader, edu_municipal_analyst;

-- Quarantined rows without the copies of the rows (row_data may hold anything a file held).
create or replace view qc.quarantine_rows with (security_barrier) as
select
    q.load_id,
    q.source_row,
    l.feed,
    f.file_name,
    rl.municipality,
    q.reason_code,
    r.description as reason,
    q.message
from raw.quarantine as q
inner join raw.load_ledger as l on q.load_id = l.load_id
inner join raw.file_ledger as f on l.file_id = f.file_id
inner join raw.quarantine_reasons as r on q.reason_code = r.reason_code
left join qc.run_loads as rl on q.load_id = rl.load_id
where l.status in ('loaded', 'blocked', 'rejected')
    -- BI (edu_reader) and administrators see all rows; anyone else (the view is granted to the municipal
    -- analysts only) sees the rows of the municipalities whose analyst roles they hold
    and (current_setting('is_superuser') = 'on' or pg_has_role(current_user, 'edu_reader', 'member')
        or rl.municipality in (select s.municipality from access.analyst_scopes as s
                               where pg_has_role(current_user, s.role_name, 'member')));
comment on view qc.quarantine_rows is
    'Отложенные строки файлов в силе: файл, номер строки, причина и сообщение, без копии строки';
grant select on qc.quarantine_rows to edu_reader, edu_municipal_analyst;
