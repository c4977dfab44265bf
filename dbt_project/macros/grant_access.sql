{#-
  Access after every run (the marts are rebuilt, so grants and policies are re-applied):
  - edu_loader writes the raw schema; edu_transformer reads raw and builds the other schemas;
  - edu_reader (BI) reads the marts only;
  - municipal analysts (seed analyst_scopes) read the marts through row-level security: only the rows of
    their municipality. The roles are created NOLOGIN when missing; a DBA gives logins to people;
  - pupil-level marts (meta pupil_level) are closed to both: they would undo the small-cell suppression.
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
    foreach role_name in array array['edu_loader', 'edu_transformer', 'edu_reader', 'edu_municipal_analyst'] loop
        if not exists (select 1 from pg_roles where rolname = role_name) then
            execute format('create role %I nologin', role_name);
        end if;
    end loop;
    for role_name in select distinct s.role_name from {{ scopes_relation }} as s loop
        if not exists (select 1 from pg_roles where rolname = role_name) then
            execute format('create role %I nologin', role_name);
        end if;
        execute format('grant edu_municipal_analyst to %I', role_name);
    end loop;
end
$$;

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
grant usage on schema access to edu_municipal_analyst;
grant select on access.analyst_scopes to edu_municipal_analyst;
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
revoke all on {{ relation }} from edu_reader, edu_municipal_analyst;
grant select on {{ relation }} to edu_transformer;
{% endif %}
{% endfor %}
{% endif %}
{% endmacro %}
