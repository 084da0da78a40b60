{#- A primary key: not null and unique. column_name may be an expression for a composite key.
    Fails with one row per duplicated key (and one for null keys): key_value, occurrences.
    The SQL, per engine, is in macros/primary_key.sql. -#}
{% test primary_key(model, column_name) %}
    {{ return(adapter.dispatch('test_primary_key', 'metanprom')(model, column_name)) }}
{% endtest %}
