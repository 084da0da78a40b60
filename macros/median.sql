{#- Median (continuous: the average of the two middle values), portable ordered-set syntax. -#}
{% macro median_of(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}
