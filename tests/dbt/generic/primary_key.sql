{#- A primary key: not null and unique. column_name may be an expression for a composite key. -#}
{% test primary_key(model, column_name) %}

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

{% endtest %}
