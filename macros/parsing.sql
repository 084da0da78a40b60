{#- Parsing text from the raw layer. Every macro returns null when the text is not a valid
    value, never raises: the intermediate layer turns "raw present, parsed null" into a
    rejection reason, so no row is lost silently. -#}

{#- The extract's twelve columns in file order: (name used downstream, column in the raw layer). -#}
{% macro extract_columns() %}
    {{ return([
        ('user_id', 'userid'), ('score', 'score'), ('city', 'city'), ('gender', 'gender'), ('age', 'age'),
        ('equity', 'equity'), ('balance', 'balance'), ('products', 'products'), ('credit_card', 'credit_card'),
        ('last_activity', 'last_activity'), ('est_salary', 'est_salary'), ('churn', 'churn'),
    ]) }}
{% endmacro %}


{% macro clean_text(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}


{#- The text as a number (null when it is not one). Staging computes it once per column and
    the macros below take that number, so each value is cast a single time. -#}
{% macro to_double(column) -%}
    {{ text_to_double(column) }}
{%- endmacro %}


{#- A finite number. 'nan', 'inf' and text give null. -#}
{% macro parse_double(number) -%}
    case
        when {{ number }} between -1e300 and 1e300 then {{ number }}
    end
{%- endmacro %}


{#- A whole number written as "850" or "850.0" (the extract writes score and age as
    floats). "850.5" is not a whole number and gives null rather than a rounded value. -#}
{% macro parse_integer(number, data_type='integer', limit=2147483647) -%}
    case
        when {{ number }} between -{{ limit }} and {{ limit }} and {{ number }} = floor({{ number }})
            then cast({{ number }} as {{ data_type }})
    end
{%- endmacro %}


{#- A 0/1 column as a boolean; anything else gives null. -#}
{% macro parse_flag(number) -%}
    case
        when {{ number }} = 1 then true
        when {{ number }} = 0 then false
    end
{%- endmacro %}
