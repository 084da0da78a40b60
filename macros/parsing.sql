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


{#- Trimmed text, null when empty or written as one of the common spellings of a missing
    value (var missing_value_spellings: NA, N/A, NULL, None, -, ...). Which columns may be
    missing is decided by the hard rules (age and balance may; every other column may not). -#}
{% macro clean_text(column) -%}
    case
        when trim({{ column }}) in ('', {% for spelling in var('missing_value_spellings') -%}
            '{{ spelling }}'{{ ', ' if not loop.last }}{%- endfor %}) then null
        else trim({{ column }})
    end
{%- endmacro %}


{#- A category value (city, gender) before it is matched to its reference seed: zero-width
    characters and soft hyphens removed, surrounding white space (tabs too) trimmed, Unicode
    NFC. Missing-value spellings become null. -#}
{% macro clean_category(column) -%}
    {{ clean_text(normalize_text(column)) }}
{%- endmacro %}

{% macro normalize_text(column) -%}
    {{ return(adapter.dispatch('normalize_text', 'metanprom')(column)) }}
{%- endmacro %}

{% macro default__normalize_text(column) -%}
    nfc_normalize(regexp_replace(
        regexp_replace({{ column }}, '[\x{200B}-\x{200D}\x{2060}\x{FEFF}\x{00AD}]', '', 'g'),
        '^\s+|\s+$', '', 'g'
    ))
{%- endmacro %}

{% macro postgres__normalize_text(column) -%}
    normalize(regexp_replace(
        regexp_replace({{ column }}, '[\u200B-\u200D\u2060\uFEFF\u00AD]', '', 'g'),
        '^\s+|\s+$', '', 'g'
    ), NFC)
{%- endmacro %}

{#- Spark has no NFC function; the extract is NFC in practice (Python writes it so). -#}
{% macro spark__normalize_text(column) -%}
    regexp_replace(
        regexp_replace({{ column }}, '[\\u200B-\\u200D\\u2060\\uFEFF\\u00AD]', ''),
        '^\\s+|\\s+$', ''
    )
{%- endmacro %}


{#- The key a category is matched on: case-folded, Latin look-alike letters read as the
    Cyrillic letters they imitate (a "Poстов" with a Latin P and o finds "Ростов"; the staging
    flag is_<column>_lookalike then rejects it). -#}
{% macro category_match_key(column) -%}
    lower(translate({{ column }}, 'AaBCcEeHKMOoPpTXxy', 'АаВСсЕеНКМОоРрТХху'))
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
