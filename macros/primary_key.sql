{#- The primary_key generic test's SQL (tests/dbt/generic/primary_key.sql), per engine. -#}

{% macro default__test_primary_key(model, column_name) %}

with

keys as (
    select {{ column_name }} as key_value
    from {{ model }}
),

problems as (
    select
        key_value,
        count(*) as occurrences
    from keys
    group by key_value
    having count(*) > 1 or key_value is null
)

select * from problems

{% endmacro %}

{#- DuckDB: the same rows, found in two passes so that 100 M text keys are never grouped as texts
    (a hash table of 100 M strings spills gigabytes, docs/scale.md). Pass one groups the keys'
    64-bit hashes and keeps the hashes seen more than once; pass two groups, as texts, only the rows
    with such a hash (and null keys), so a hash collision of two different keys is not a failure.
    The model is read twice instead of through one CTE, which DuckDB could materialize. -#}
{% macro duckdb__test_primary_key(model, column_name) %}

with

repeated_hashes as (
    select hash(({{ column_name }})) as key_hash
    from {{ model }}
    where ({{ column_name }}) is not null
    group by key_hash
    having count(*) > 1
),

suspect_keys as (
    select {{ column_name }} as key_value
    from {{ model }}
    where
        ({{ column_name }}) is null
        or hash(({{ column_name }})) in (select repeated_hashes.key_hash from repeated_hashes)
),

problems as (
    select
        key_value,
        count(*) as occurrences
    from suspect_keys
    group by key_value
    having count(*) > 1 or key_value is null
)

select * from problems

{% endmacro %}
