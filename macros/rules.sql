{#- Hard-rule checks used by int_clients_rejected. Each returns a reason text naming the
    column and the rule, or null when the value passes. Reasons carry no data values, so
    they can be counted by reason; the raw values sit next to them in marts.rejected_rows. -#}

{#- The stg_clients flag telling that the column's value was empty in the extract: age and
    balance have the contract's is_age_missing / is_balance_missing, the others is_<column>_empty. -#}
{% macro is_empty_column(column_name) -%}
    {%- if column_name in ('age', 'balance') -%}is_{{ column_name }}_missing{%- else -%}is_{{ column_name }}_empty{%- endif -%}
{%- endmacro %}


{#- Extract columns that get an is_<column>_empty flag in stg_clients (all but age and balance). -#}
{% macro empty_flag_columns() -%}
    {{ return(extract_columns() | map(attribute=0) | reject('in', ['age', 'balance']) | list) }}
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
