{#- Hard-rule checks used by int_clients_rejected. Each returns a reason text naming the
    column and the rule, or null when the value passes. Reasons carry no data values, so
    they can be counted by reason; the raw values sit next to them in marts.rejected_rows. -#}

{#- True when stg_clients.empty_columns lists the column (the extract's value was empty). -#}
{% macro is_empty_column(column_name) -%}
    coalesce(', ' || empty_columns || ',' like '%, {{ column_name }},%', false)
{%- endmacro %}


{#- An empty value is "missing" (a reason only when required); a present value that staging
    could not type is "not a whole number / 0 or 1 / a number"; then the plausible range. -#}
{% macro check_number(label, typed_column, kind, min_var=none, max_var=none, required=true) -%}
    case
        when {{ is_empty_column(label) }}
            then {% if required %}'{{ label }}: missing'{% else %}null{% endif %}
        when {{ typed_column }} is null
            then '{{ label }}: not {{ "a whole number" if kind == "integer" else "0 or 1" if kind == "flag" else "a number" }}'
        {%- if min_var is not none %}
        when {{ typed_column }} < {{ var(min_var) }} or {{ typed_column }} > {{ var(max_var) }}
            then '{{ label }}: outside the plausible range {{ var(min_var) }}..{{ var(max_var) }}'
        {%- endif %}
    end
{%- endmacro %}
