-- The qc schema: what every validation run saw. Written by quality/ (python -m quality), read by the
-- analysts' report (python -m report) and by BI through the read-only role; municipal analysts read
-- the rows of their own municipality (row-level security, quality/access.sql).
-- created only when missing: even IF NOT EXISTS needs CREATE on the database, which the checks' role does
-- not hold on a warehouse with the project's roles (deploy/warehouse/init/ makes the schema for it)
do $$
begin
    if to_regnamespace('qc') is null then
        create schema qc;
    end if;
end
$$;

-- One row per validation run (in Airflow: per DAG run; from the command line: per invocation).
create table if not exists qc.runs (
    run_id bigserial primary key,
    airflow_run_id text,
    landing text,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    -- running | passed (every expectation met) | warned | blocked (some load blocked or mart withheld) | failed
    status text not null default 'running'
        check (status in ('running', 'passed', 'warned', 'blocked', 'failed')),
    gx_docs_path text,
    report_path text
);
-- when the feed suites finished (a run stopped before that hands its loads to the next run)
alter table qc.runs add column if not exists feeds_checked_at timestamptz;

-- Every ledger load belongs to the first run after it: what arrived in that run, whatever its status.
create table if not exists qc.run_loads (
    load_id bigint primary key,
    run_id bigint not null references qc.runs (run_id),
    file_id bigint not null,
    feed text not null,
    file_name text not null,
    status text not null,            -- the ledger status when the run saw it (loaded, failed, refused, ...)
    municipality text,               -- the municipality most of its rows belong to; null: region-wide or unknown
    school_year integer,             -- the (latest) school year its rows belong to; null: unknown
    rows_read integer,
    rows_loaded integer,
    rows_quarantined integer,
    error_message text
);
create index if not exists run_loads_run_id on qc.run_loads (run_id);

-- One validation of one suite on one batch: a feed's loads of this run (feed suites) or a mart (mart suites).
create table if not exists qc.validations (
    validation_id bigserial primary key,
    run_id bigint not null references qc.runs (run_id),
    suite text not null,              -- file name in expectations/suites without .yml
    suite_title text not null,        -- Russian title
    kind text not null check (kind in ('feed', 'mart')),
    relation text not null,           -- the validated table (raw.* or marts.*)
    feed text,
    batch text not null,              -- Russian description of the batch, e.g. «загрузки прогона 12: 40 файлов»
    loads integer,                    -- loads in the batch (feed suites)
    rows bigint,                      -- rows in the batch
    success boolean not null,
    outcome text not null check (outcome in ('passed', 'warned', 'blocked')),
    started_at timestamptz not null,
    finished_at timestamptz not null,
    gx_result_path text               -- relative path of the GX Data Docs page of this validation
);
create index if not exists validations_run_id on qc.validations (run_id);

-- Every expectation of every validation, met or not.
create table if not exists qc.expectation_results (
    validation_id bigint not null references qc.validations (validation_id),
    expectation_key text not null,    -- key in the suite file
    expectation_type text not null,   -- GX type, e.g. expect_column_values_to_be_between
    description text not null,        -- Russian description from the suite file
    policy text not null check (policy in ('block', 'warn')),
    success boolean not null,
    observed_value text,              -- what GX observed (a count, a value, a share), as text
    unexpected_count bigint,
    element_count bigint,
    primary key (validation_id, expectation_key)
);

-- A failed expectation, split by municipality and load: counts and up to five example rows holding
-- school keys only (never names or pupil codes).
create table if not exists qc.expectation_failures (
    failure_id bigserial primary key,
    validation_id bigint not null references qc.validations (validation_id),
    expectation_key text not null,
    municipality text,                -- null: region-wide or not determined
    load_id bigint,                   -- null: not attributable to one load (an aggregate, a mart)
    file_name text,
    unexpected_count bigint not null,
    examples jsonb not null default '[]'::jsonb
);
create index if not exists expectation_failures_validation on qc.expectation_failures (validation_id);

-- Loads kept out of staging and the marts by a failed 'block' expectation. Released when a later load
-- replaces the load's partitions (the ledger marks it 'replaced').
create table if not exists qc.blocked_loads (
    load_id bigint primary key,
    run_id bigint not null references qc.runs (run_id),
    validation_id bigint not null references qc.validations (validation_id),
    feed text not null,
    file_name text not null,
    municipality text,
    reasons text not null,            -- Russian: the descriptions of the expectations that blocked it
    blocked_at timestamptz not null default now(),
    released_at timestamptz,
    released_by_load bigint
);

-- Per run, feed, municipality and reason: how many rows were quarantined, with up to five examples
-- (row number, file, message; no row copies).
create table if not exists qc.quarantine_summary (
    run_id bigint not null references qc.runs (run_id),
    feed text not null,
    municipality text,
    reason_code text not null,
    reason text not null,
    rows bigint not null,
    examples jsonb not null default '[]'::jsonb
);
create index if not exists quarantine_summary_run on qc.quarantine_summary (run_id);

-- Per run: the warehouse's contents per feed, school year and municipality (what staging reads: loads
-- not blocked), for the trends across runs and years.
create table if not exists qc.feed_volumes (
    run_id bigint not null references qc.runs (run_id),
    feed text not null,
    relation text not null,
    school_year integer,
    municipality text,
    schools integer,
    participants integer,             -- distinct pseudonymised pupils; null where the feed has no pupils
    rows bigint not null
);
create index if not exists feed_volumes_run on qc.feed_volumes (run_id);

-- Marts withheld from the read roles by a failed 'block' expectation, until a run's check passes. dbt's
-- grant_access (run-end hook) leaves them ungranted, so a rebuilt mart is not readable before it is checked.
create table if not exists qc.withheld_marts (
    relation text primary key,
    run_id bigint not null references qc.runs (run_id),
    reasons text not null,
    withheld_at timestamptz not null default now()
);

-- Airflow tasks that failed (the DAGs' on_failure_callback), so that a failure is visible beside the checks.
create table if not exists qc.task_failures (
    failure_id bigserial primary key,
    dag_id text not null,
    task_id text not null,
    run_id text,
    try_number integer,
    error text,
    failed_at timestamptz not null default now()
);

comment on schema qc is 'Контроль качества данных: прогоны проверок, результаты ожиданий GX, блокировки, карантин';
comment on table qc.runs is 'Прогоны проверки данных: время, итог (пройдено, предупреждения, блокировки)';
comment on table qc.run_loads is 'Файлы и загрузки, поступившие в прогоне, со статусом и муниципалитетом';
comment on table qc.validations is 'Проверки наборов ожиданий: набор, проверенная партия, итог';
comment on table qc.expectation_results is 'Результат каждого ожидания каждой проверки: правило, политика, наблюдение';
comment on table qc.expectation_failures is
    'Нарушенные ожидания по муниципалитетам и загрузкам: число строк и до пяти примеров (только коды ОО)';
comment on table qc.blocked_loads is 'Заблокированные загрузки: не попадают в витрины до исправленного файла';
comment on table qc.quarantine_summary is 'Отложенные строки по прогону, потоку, муниципалитету и причине';
comment on table qc.withheld_marts is 'Витрины, закрытые для чтения (BI, аналитики) до успешной проверки';
comment on table qc.task_failures is 'Сбои задач Airflow: DAG, задача, запуск, попытка, текст ошибки';
comment on table qc.feed_volumes is 'Объёмы данных по потокам, учебным годам и муниципалитетам на момент прогона';

-- Working objects of the runner, readable by nobody else: the loads being validated now (one run at a
-- time holds the qc lock) and a view qc_work.batch_<table> per raw table reading them (raw rows, pupils'
-- pseudonyms included: never granted to BI or analysts).
do $$
begin
    if to_regnamespace('qc_work') is null then
        create schema qc_work;
    end if;
end
$$;
revoke all on schema qc_work from public;
create table if not exists qc_work.current_batch (
    load_id bigint primary key
);
drop table if exists qc.current_batch cascade;  -- an earlier version kept it (and the batch views) in qc, readable by BI
comment on schema qc_work is 'Служебная схема проверок: текущая партия загрузок и представления над raw; не выдаётся';

-- 'error': an expectation could not be evaluated (its query failed): nothing is blocked by it, and the
-- run is marked failed so that a switched-off guard does not pass unnoticed.
do $$
begin
    if not exists (select 1 from pg_constraint where conrelid = 'qc.validations'::regclass
                   and conname = 'validations_outcome_check' and pg_get_constraintdef(oid) like '%error%') then
        alter table qc.validations drop constraint if exists validations_outcome_check;
        alter table qc.validations add constraint validations_outcome_check
            check (outcome in ('passed', 'warned', 'blocked', 'error'));
    end if;
end
$$;
alter table qc.expectation_results add column if not exists errored boolean not null default false;
comment on column qc.expectation_results.errored is 'Ожидание не удалось вычислить (ошибка запроса): строки неизвестны';
