{#- Hard-rule checks used by int_clients__checked. Each returns a reason text naming the
    column and the rule, or null when the value passes. Reasons carry no data values, so
    they can be counted by reason; the raw values sit next to them in marts.rejected_rows. -#}

{% macro check_number(label, raw_column, typed_column, kind, min_var=none, max_var=none, required=true) -%}
    case
        when {{ raw_column }} is null
            then {% if required %}'{{ label }}: missing'{% else %}null{% endif %}
        when {{ typed_column }} is null
            then '{{ label }}: not {{ "a whole number" if kind == "integer" else "0 or 1" if kind == "flag" else "a number" }}'
        {%- if min_var is not none %}
        when {{ typed_column }} < {{ var(min_var) }} or {{ typed_column }} > {{ var(max_var) }}
            then '{{ label }}: outside the plausible range {{ var(min_var) }}..{{ var(max_var) }}'
        {%- endif %}
    end
{%- endmacro %}
