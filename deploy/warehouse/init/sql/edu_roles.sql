-- The warehouse's roles, schemas and default privileges; run once by the superuser when the database is
-- created (deploy/warehouse/init/10-edu-roles.sh, with the passwords as psql variables). Idempotent.
--
-- Group roles (NOLOGIN) own the objects and hold the privileges; each stage logs in as a login role that is
-- a member of its group and acts as it (ALTER ROLE … SET role), so every object a stage creates is owned by
-- the group, whichever login created it:
--   edu_loader      — loads (ingestion/): owns raw, raw_current, raw_superseded;
--   edu_transformer — dbt build: reads raw_current, owns the dbt layers (staging, intermediate, marts,
--                     reference, stats, access), publishes the marts to the read roles (row-level security);
--   edu_qc          — data-quality checks (quality/) and the analysts' report (report/): owns qc and qc_work,
--                     reads raw, the dbt layers and the marts, blocks loads (the ledger's status) and puts
--                     back the rows a blocked load replaced (raw_superseded → raw);
--   edu_reader      — BI: reads the marts (except pupil-level ones) and qc; nothing of raw or staging;
--   edu_municipal_analyst — municipal analysts (their roles from the seed analyst_scopes): the rows of their
--                     own municipality only;
--   edu_role_admin  — owns admin.ensure_analyst_role (CREATEROLE): dbt's run-end hook creates the analysts'
--                     roles through it, so that the transformer itself needs no CREATEROLE.
-- No role here is a superuser, none may create databases or roles (but edu_role_admin), none bypasses
-- row-level security.

do $$
declare
    role_name text;
begin
    foreach role_name in array array['edu_loader', 'edu_transformer', 'edu_qc', 'edu_reader', 'edu_municipal_analyst',
                                     'edu_role_admin'] loop
        if not exists (select 1 from pg_roles where rolname = role_name) then
            execute format('create role %I nologin', role_name);
        end if;
        execute format('alter role %I nologin nosuperuser nocreatedb nocreaterole noreplication nobypassrls',
                       role_name);
    end loop;
    foreach role_name in array array['edu_loader_app', 'edu_transformer_app', 'edu_qc_app', 'edu_bi_app'] loop
        if not exists (select 1 from pg_roles where rolname = role_name) then
            execute format('create role %I login', role_name);
        end if;
        execute format('alter role %I login nosuperuser nocreatedb nocreaterole noreplication nobypassrls',
                       role_name);
    end loop;
end
$$;

alter role edu_role_admin createrole;
grant edu_municipal_analyst to edu_role_admin with admin option, inherit false, set false;

alter role edu_loader_app password :'loader_password';
alter role edu_transformer_app password :'transformer_password';
alter role edu_qc_app password :'qc_password';
alter role edu_bi_app password :'bi_password';

grant edu_loader to edu_loader_app;
grant edu_transformer to edu_transformer_app;
grant edu_qc to edu_qc_app;
grant edu_reader to edu_bi_app;
-- a stage's session acts as its group from the start: what it creates belongs to the group
alter role edu_loader_app set role = 'edu_loader';
alter role edu_transformer_app set role = 'edu_transformer';
alter role edu_qc_app set role = 'edu_qc';
alter role edu_bi_app set default_transaction_read_only = on;

-- The database: only the project's roles connect; only dbt creates schemas (a new layer or model schema).
do $$
begin
    execute format('revoke all on database %I from public', current_database());
    execute format('grant connect, temporary on database %I to edu_loader, edu_transformer, edu_qc, edu_reader, '
                   'edu_municipal_analyst', current_database());
    execute format('grant create on database %I to edu_transformer', current_database());
end
$$;
revoke create on schema public from public;

-- Schemas, owned by the stage that writes them.
create schema if not exists raw authorization edu_loader;
create schema if not exists raw_current authorization edu_loader;
create schema if not exists raw_superseded authorization edu_loader;
alter schema raw owner to edu_loader;
alter schema raw_current owner to edu_loader;
alter schema raw_superseded owner to edu_loader;

create schema if not exists staging authorization edu_transformer;
create schema if not exists intermediate authorization edu_transformer;
create schema if not exists marts authorization edu_transformer;
create schema if not exists reference authorization edu_transformer;
create schema if not exists stats authorization edu_transformer;
create schema if not exists access authorization edu_transformer;
alter schema staging owner to edu_transformer;
alter schema intermediate owner to edu_transformer;
alter schema marts owner to edu_transformer;
alter schema reference owner to edu_transformer;
alter schema stats owner to edu_transformer;
alter schema access owner to edu_transformer;

create schema if not exists qc authorization edu_qc;
create schema if not exists qc_work authorization edu_qc;
alter schema qc owner to edu_qc;
alter schema qc_work owner to edu_qc;

-- Who reads whose schemas (the table grants: default privileges below, and each stage's own grants).
grant usage on schema raw to edu_qc;
grant usage on schema raw_current to edu_transformer, edu_qc;
grant usage on schema raw_superseded to edu_qc;
grant usage on schema staging, intermediate, reference, stats, access, marts to edu_qc;
grant usage on schema qc to edu_loader, edu_transformer;

-- Tables created later by the loader are readable by the next stages. Column and per-table grants (the
-- checks' ledger updates, the rows a blocked load gives back) are the loader's own: ingestion.core.grants.
alter default privileges for role edu_loader in schema raw grant select on tables to edu_qc;
alter default privileges for role edu_loader in schema raw_current grant select on tables to edu_transformer, edu_qc;
alter default privileges for role edu_loader in schema raw_superseded grant select, delete on tables to edu_qc;
-- dbt's views and seeds are read by the checks and the report; the marts are published by dbt's run-end hook
-- (dbt_project/macros/grant_access.sql): pupil-level marts closed, marts withheld by a failed check kept closed.
alter default privileges for role edu_transformer in schema staging grant select on tables to edu_qc;
alter default privileges for role edu_transformer in schema intermediate grant select on tables to edu_qc;
alter default privileges for role edu_transformer in schema reference grant select on tables to edu_qc;
-- qc: granted table by table by quality/access.sql (never "all tables"); nothing by default.

-- Functions run as their owner, callable only by the stage that needs them.
create schema if not exists admin;
alter schema admin owner to current_user;
revoke all on schema admin from public;
grant usage on schema admin to edu_transformer, edu_qc;

-- A municipal analyst's role (named in the seed analyst_scopes): created NOLOGIN when missing (a DBA gives
-- logins to people), made a member of edu_municipal_analyst. Never a project or privileged role.
create or replace function admin.ensure_analyst_role(role_name text) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    if role_name !~ '^[a-z][a-z0-9_]{0,62}$' or role_name ~ '^pg_' then
        raise exception 'недопустимое имя роли аналитика: %', role_name;
    end if;
    if role_name = any (array['edu_loader', 'edu_transformer', 'edu_qc', 'edu_reader', 'edu_municipal_analyst',
                              'edu_role_admin', 'edu_loader_app', 'edu_transformer_app', 'edu_qc_app', 'edu_bi_app'])
       or exists (select 1 from pg_roles
                  where rolname = role_name and (rolsuper or rolcreaterole or rolcreatedb or rolreplication
                                                 or rolbypassrls)) then
        raise exception 'роль % не может быть ролью муниципального аналитика', role_name;
    end if;
    if not exists (select 1 from pg_roles where rolname = role_name) then
        execute format('create role %I nologin', role_name);
    end if;
    execute format('grant edu_municipal_analyst to %I', role_name);
end
$$;
alter function admin.ensure_analyst_role(text) owner to edu_role_admin;
revoke all on function admin.ensure_analyst_role(text) from public;
grant execute on function admin.ensure_analyst_role(text) to edu_transformer;

-- A mart withheld by a failed check, or published again by a passing one (quality/access.py): the checks
-- do not own the marts, so they change the read roles' grant through the marts' owner. Only tables of the
-- schema marts, and never a pupil-level mart (access.closed_marts, kept by dbt's run-end hook).
create or replace function admin.set_mart_readable(relation text, readable boolean) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    parts text[] := parse_ident(relation);
    target regclass;
begin
    if cardinality(parts) <> 2 or parts[1] <> 'marts' then
        raise exception 'не витрина схемы marts: %', relation;
    end if;
    target := to_regclass(relation);
    if target is null then
        return;
    end if;
    if not exists (select 1 from pg_class
                   where oid = target and relnamespace = 'marts'::regnamespace and relkind in ('r', 'p', 'v', 'm')) then
        raise exception 'не витрина схемы marts: %', relation;
    end if;
    if readable then
        if to_regclass('access.closed_marts') is not null
           and exists (select 1 from access.closed_marts as c where to_regclass(c.relation) = target) then
            raise exception 'витрина на уровне обучающихся не открывается для чтения: %', relation;
        end if;
        execute format('grant select on %s to edu_reader, edu_municipal_analyst', target);
    else
        execute format('revoke select on %s from edu_reader, edu_municipal_analyst', target);
    end if;
end
$$;
alter function admin.set_mart_readable(text, boolean) owner to edu_transformer;
revoke all on function admin.set_mart_readable(text, boolean) from public;
grant execute on function admin.set_mart_readable(text, boolean) to edu_qc;
