{#- The read-only role BI tools log in with (PostgreSQL): it may read schema `marts` and
    nothing else. Runs at the end of every dbt invocation on PostgreSQL (on-run-end in
    dbt_project.yml) and by hand with `dbt run-operation grant_bi_reader --target postgres`.
    Default privileges cover tables created later, e.g. the Python step's marts.stat_tests.
    The role logs in with the password in METANPROM_PG_BI_PASSWORD when it is set (servers
    with password authentication); a trust-authenticated throwaway cluster needs none. -#}
{% macro grant_bi_reader(role='bi_reader') -%}
    {%- if execute -%}
        {%- set statements = adapter.dispatch('bi_reader_grants', 'metanprom')(role) -%}
        {%- if statements | trim -%}
            {%- do run_query(statements) -%}
            {%- do log('granted ' ~ role ~ ' select on schema marts only', info=true) -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{% macro default__bi_reader_grants(role) -%}
    {#- DuckDB is a file: BI tools open it read-only (README); Spark has its own ACLs. -#}
{%- endmacro %}

{% macro postgres__bi_reader_grants(role) -%}
    {%- set password = env_var('METANPROM_PG_BI_PASSWORD', '') -%}
    do $$
    begin
        if not exists (select from pg_catalog.pg_roles where rolname = '{{ role }}') then
            create role {{ role }} login nosuperuser nocreatedb nocreaterole noinherit;
        end if;
    end
    $$;
    {% if password %}alter role {{ role }} password '{{ password | replace("'", "''") }}';{% endif %}
    create schema if not exists marts;
    revoke all on schema marts from {{ role }};
    grant usage on schema marts to {{ role }};
    grant select on all tables in schema marts to {{ role }};
    alter default privileges in schema marts grant select on tables to {{ role }};
    alter role {{ role }} set default_transaction_read_only = on;
    commit;
{%- endmacro %}
