{#-
  Access after every run (the marts are rebuilt, so grants and policies are re-applied):
  - edu_loader writes the raw schemas; edu_transformer (dbt) reads raw_current and builds the other schemas;
  - edu_qc (data-quality checks and the analysts' report) reads the dbt layers and the marts, whatever their
    row-level security;
  - edu_reader (BI) reads the marts only;
  - municipal analysts (seed analyst_scopes) read the marts through row-level security: only the rows of
    their municipality. The roles are created NOLOGIN when missing; a DBA gives logins to people;
  - pupil-level marts (meta pupil_level) are closed to all three: they would undo the small-cell suppression.
  Two ways to run, one hook: on a warehouse with the project's roles (deploy/warehouse/init/) dbt runs as
  edu_transformer, which owns what it builds and nothing of raw: the loader grants on raw
  (ingestion.core.grants), the analysts' roles are made through admin.ensure_analyst_role (dbt needs no
  CREATEROLE). On the embedded server dbt runs as the superuser and does both itself, as it always did.
-#}
{% macro grant_access() %}
{% set scopes_relation = ref('analyst_scopes') %}
{#- The hook runs as one transaction. Its ALTER TABLE … ROW LEVEL SECURITY needs an exclusive lock, while its GRANTs
    update the tables' catalogue rows; autovacuum analysing a freshly built mart waits for those rows and holds a
    lock the ALTER needs — a deadlock. Taking the exclusive locks first, before any catalogue row is touched, makes
    autovacuum give way instead (it is cancelled when it blocks a lock request and waits for nothing of ours). -#}
{% if execute %}
{% set rls_relations = [] %}
{% for node in graph.nodes.values()
   if node.resource_type == 'model' and node.config.schema == 'marts'
   and 'municipality' in node.columns %}
{% set relation = adapter.get_relation(database=node.database, schema='marts', identifier=node.alias) %}
{% if relation is not none %}{% do rls_relations.append(relation | string) %}{% endif %}
{% endfor %}
{% if rls_relations %}
lock table {{ rls_relations | join(', ') }} in access exclusive mode;
{% endif %}
{% endif %}
do $$
declare
    role_name text;
begin
    foreach role_name in array array['edu_loader', 'edu_transformer', 'edu_qc', 'edu_reader',
                                     'edu_municipal_analyst'] loop
        if not exists (select 1 from pg_roles where rolname = role_name) then
            execute format('create role %I nologin', role_name);
        end if;
    end loop;
    for role_name in select distinct s.role_name from {{ scopes_relation }} as s loop
        if to_regprocedure('admin.ensure_analyst_role(text)') is not null then
            perform admin.ensure_analyst_role(role_name);
        else
            if not exists (select 1 from pg_roles where rolname = role_name) then
                execute format('create role %I nologin', role_name);
            end if;
            execute format('grant edu_municipal_analyst to %I', role_name);
        end if;
    end loop;
end
$$;

-- The raw schemas are granted by their owner. Where this role has the owner's privileges (the embedded
-- server's superuser) it grants here; with the project's roles the loader does (ingestion.core.grants).
do $$
begin
    if coalesce((select bool_and(pg_has_role(current_user, n.nspowner, 'usage')) from pg_namespace as n
                 where n.nspname in ('raw', 'raw_current', 'raw_superseded')), false) then
        grant usage, create on schema raw to edu_loader;
        grant select, insert, update, delete on all tables in schema raw to edu_loader;
        grant usage, select on all sequences in schema raw to edu_loader;
        grant usage on schema raw to edu_transformer;
        grant select on all tables in schema raw to edu_transformer;
        grant usage on schema raw_superseded to edu_loader;
        grant select, insert, delete on all tables in schema raw_superseded to edu_loader;
        grant usage on schema raw_current to edu_transformer;
        grant select on all tables in schema raw_current to edu_transformer;
        revoke all on schema raw from edu_reader, edu_municipal_analyst;
        revoke all on schema raw_current from edu_reader, edu_municipal_analyst;
        revoke all on schema raw_superseded from edu_reader, edu_municipal_analyst, edu_transformer;
    end if;
end
$$;

-- the checks and the report read what dbt built (pupil-level marts excepted, below)
do $$
declare
    layer text;
begin
    foreach layer in array array['staging', 'intermediate', 'reference', 'stats', 'marts'] loop
        if to_regnamespace(layer) is not null then
            execute format('grant usage on schema %I to edu_qc', layer);
            if layer <> 'stats' then
                execute format('grant select on all tables in schema %I to edu_qc', layer);
            end if;
        end if;
    end loop;
end
$$;

grant usage on schema marts to edu_reader, edu_municipal_analyst;
grant select on all tables in schema marts to edu_reader, edu_municipal_analyst;
-- ...except the marts a data-quality check withheld (quality/, qc.withheld_marts): published again only by
-- a passing check, so that a rebuilt mart is not read before it is checked
{% if execute and adapter.get_relation(database=target.database, schema='qc', identifier='withheld_marts') %}
do $$
declare
    withheld text;
begin
    for withheld in select w.relation from qc.withheld_marts as w where to_regclass(w.relation) is not null loop
        execute format('revoke select on %s from edu_reader, edu_municipal_analyst', withheld);
    end loop;
end
$$;
{% endif %}

create schema if not exists access;
create or replace view access.analyst_scopes as select role_name, municipality from {{ scopes_relation }};
grant usage on schema access to edu_municipal_analyst, edu_qc;
grant select on access.analyst_scopes to edu_municipal_analyst, edu_qc;
-- the pupil-level marts, which a check may never publish (admin.set_mart_readable)
{% set closed = [] %}
{% if execute %}
{% for node in graph.nodes.values()
   if node.resource_type == 'model' and node.config.schema == 'marts' and node.config.meta.get('pupil_level') %}
{% do closed.append('marts.' ~ node.alias) %}
{% endfor %}
{% endif %}
create or replace view access.closed_marts as
select c.relation from unnest(array[{% for c in closed %}'{{ c }}'{% if not loop.last %}, {% endif %}{% endfor %}]::text[])
    as c (relation);
grant usage on schema reference to edu_municipal_analyst;
grant select on {{ scopes_relation }} to edu_municipal_analyst;

{% if execute %}
{% for node in graph.nodes.values()
   if node.resource_type == 'model' and node.config.schema == 'marts'
   and 'municipality' in node.columns %}
{% set relation = adapter.get_relation(database=node.database, schema='marts', identifier=node.alias) %}
{% if relation is not none %}
alter table {{ relation }} enable row level security;
drop policy if exists bi_reads_all on {{ relation }};
create policy bi_reads_all on {{ relation }} for select to edu_reader using (true);
drop policy if exists qc_reads_all on {{ relation }};
create policy qc_reads_all on {{ relation }} for select to edu_qc using (true);
drop policy if exists analyst_reads_own_municipality on {{ relation }};
create policy analyst_reads_own_municipality on {{ relation }} for select to edu_municipal_analyst
    using (municipality in (select s.municipality from access.analyst_scopes as s
                            where pg_has_role(current_user, s.role_name, 'member')));
{% endif %}
{% endfor %}
{% for node in graph.nodes.values()
   if node.resource_type == 'model' and node.config.schema == 'marts' and node.config.meta.get('pupil_level') %}
{% set relation = adapter.get_relation(database=node.database, schema='marts', identifier=node.alias) %}
{% if relation is not none %}
revoke all on {{ relation }} from edu_reader, edu_municipal_analyst, edu_qc;
grant select on {{ relation }} to edu_transformer;
{% endif %}
{% endfor %}
{% endif %}
{% endmacro %}
