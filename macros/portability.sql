{#- Small cross-engine helpers. DuckDB is the default; other engines get their own
    implementation through adapter.dispatch (see the engines issue). -#}

{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'metanprom')()) }}
{%- endmacro %}

{% macro default__type_double() -%}double{%- endmacro %}

{% macro postgres__type_double() -%}double precision{%- endmacro %}


{% macro safe_cast(expression, data_type) -%}
    {{ return(adapter.dispatch('safe_cast', 'metanprom')(expression, data_type)) }}
{%- endmacro %}

{% macro default__safe_cast(expression, data_type) -%}
    try_cast({{ expression }} as {{ data_type }})
{%- endmacro %}


{#- 1-based line order of the extract's data rows. DuckDB keeps insertion order in rowid
    (seeds are loaded with COPY, new extracts with read_csv, both in file order). -#}
{% macro source_row_number() -%}
    {{ return(adapter.dispatch('source_row_number', 'metanprom')()) }}
{%- endmacro %}

{% macro duckdb__source_row_number() -%}
    cast(rowid + 1 as bigint)
{%- endmacro %}

{% macro default__source_row_number() -%}
    row_number() over ()
{%- endmacro %}


{#- string_agg with an order: DuckDB and PostgreSQL syntax; other engines dispatch. -#}
{% macro string_agg_ordered(expression, separator, order_by) -%}
    {{ return(adapter.dispatch('string_agg_ordered', 'metanprom')(expression, separator, order_by)) }}
{%- endmacro %}

{% macro default__string_agg_ordered(expression, separator, order_by) -%}
    string_agg({{ expression }}, {{ separator }} order by {{ order_by }})
{%- endmacro %}
