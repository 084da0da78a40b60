{#- Every row satisfies a boolean SQL expression (a row where it is false or null fails). -#}
{% test expression_is_true(model, expression) %}

with

failing as (
    select *
    from {{ model }}
    where not coalesce({{ expression }}, false)
)

select * from failing

{% endtest %}
