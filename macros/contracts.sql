{#- Contract types in the YAML are written once, in names DuckDB and PostgreSQL share
    (bigint, integer, boolean, varchar, double precision). Spark SQL spells two of them
    differently; this override of dbt's contract check translates them there. -#}
{% macro spark_type_name(data_type) -%}
    {%- set spark_names = {'double precision': 'double', 'varchar': 'string'} -%}
    {{- spark_names.get(data_type | trim | lower, data_type) -}}
{%- endmacro %}

{% macro spark__get_empty_schema_sql(columns) -%}
    select
    {% for name in columns -%}
        {%- set column = columns[name] -%}
        {%- if column['data_type'] is not defined -%}
            {{ exceptions.column_type_missing(column_names=[column['name']]) }}
        {%- endif -%}
        {%- set column_name = adapter.quote(column['name']) if column.get('quote') else column['name'] -%}
        cast(null as {{ spark_type_name(column['data_type']) }}) as {{ column_name }}{{ ", " if not loop.last }}
    {% endfor %}
{%- endmacro %}
