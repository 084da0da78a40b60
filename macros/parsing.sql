{#- Parsing text from the raw layer. Every macro returns null when the text is not a valid
    value, never raises: the intermediate layer turns "raw present, parsed null" into a
    rejection reason, so no row is lost silently. -#}

{% macro clean_text(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}


{#- A finite number. 'nan', 'inf' and text give null. -#}
{% macro parse_double(column) -%}
    case
        when {{ safe_cast(column, type_double()) }} between -1e300 and 1e300
            then {{ safe_cast(column, type_double()) }}
    end
{%- endmacro %}


{#- A whole number written as "850" or "850.0" (the extract writes score and age as
    floats). "850.5" is not a whole number and gives null rather than a rounded value. -#}
{% macro parse_integer(column, data_type='integer', limit=2147483647) -%}
    case
        when {{ safe_cast(column, type_double()) }} between -{{ limit }} and {{ limit }}
            and {{ safe_cast(column, type_double()) }} = floor({{ safe_cast(column, type_double()) }})
            then cast({{ safe_cast(column, type_double()) }} as {{ data_type }})
    end
{%- endmacro %}


{#- A 0/1 column as a boolean; anything else gives null. -#}
{% macro parse_flag(column) -%}
    case {{ parse_integer(column) }}
        when 1 then true
        when 0 then false
    end
{%- endmacro %}
