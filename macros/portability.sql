{#- Small cross-engine helpers. DuckDB is the default; other engines get their own
    implementation through adapter.dispatch (see the engines issue). -#}

{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'metanprom')()) }}
{%- endmacro %}

{% macro default__type_double() -%}double{%- endmacro %}

{% macro postgres__type_double() -%}double precision{%- endmacro %}


{#- The text type in casts: Spark SQL wants `string` (its varchar needs a length). -#}
{% macro type_string() -%}
    {{ return(adapter.dispatch('type_string', 'metanprom')()) }}
{%- endmacro %}

{% macro default__type_string() -%}varchar{%- endmacro %}

{% macro spark__type_string() -%}string{%- endmacro %}


{#- round(number, digits) on a double, half away from zero, the same on every engine:
    DuckDB's round() does this, PostgreSQL's round(double) rounds half to even and Spark's
    round() wants a constant digits argument. `digits` may be an expression (negative rounds
    to tens, hundreds, ...); powers of ten up to 1e22 are exact doubles. -#}
{% macro round_to(expression, digits) -%}
    case
        when ({{ digits }}) >= 0
            then {{ round_half_away('(' ~ expression ~ ') * power(cast(10 as ' ~ type_double() ~ '), ' ~ digits ~ ')') }}
                / power(cast(10 as {{ type_double() }}), {{ digits }})
        else {{ round_half_away('(' ~ expression ~ ') / power(cast(10 as ' ~ type_double() ~ '), -(' ~ digits ~ '))') }}
            * power(cast(10 as {{ type_double() }}), -({{ digits }}))
    end
{%- endmacro %}

{% macro round_half_away(expression) -%}
    (sign({{ expression }}) * floor(abs({{ expression }}) + 0.5))
{%- endmacro %}


{#- A double as short text without a trailing ".0" (39.0 -> '39', 1357.30 -> '1357.3').
    Each engine prints the shortest text that reads back as the same double. -#}
{% macro number_text(expression) -%}
    regexp_replace(cast({{ expression }} as {{ type_string() }}), '[.]0+$', '')
{%- endmacro %}


{#- Text to a double, null (never an error) when the text is not a number. DuckDB and
    Spark have try_cast; PostgreSQL casts only text that matches a number pattern, through
    numeric so that an exponent beyond the double range gives null instead of an error. -#}
{% macro text_to_double(expression) -%}
    {{ return(adapter.dispatch('text_to_double', 'metanprom')(expression)) }}
{%- endmacro %}

{% macro default__text_to_double(expression) -%}
    try_cast({{ expression }} as {{ type_double() }})
{%- endmacro %}

{% macro postgres__text_to_double(expression) -%}
    case
        when {{ expression }} ~ '^\s*[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{1,3})?\s*$'
            and abs(cast({{ expression }} as numeric)) < 1e308
            then cast(cast({{ expression }} as numeric) as double precision)
    end
{%- endmacro %}


{#- 1-based line order of the extract's data rows. DuckDB keeps insertion order in rowid
    (seeds are loaded with COPY, new extracts with read_csv, both in file order). -#}
{% macro source_row_number() -%}
    {{ return(adapter.dispatch('source_row_number', 'metanprom')()) }}
{%- endmacro %}

{% macro duckdb__source_row_number() -%}
    cast(rowid + 1 as bigint)
{%- endmacro %}

{#- PostgreSQL: a freshly loaded table's physical order (ctid) is its insertion order. -#}
{% macro postgres__source_row_number() -%}
    cast(row_number() over (order by ctid) as bigint)
{%- endmacro %}

{#- Spark: a seed is written by one insert as part-00000, part-00001, ... files in row order;
    the file name and the row's index in its file give the order back. -#}
{% macro spark__source_row_number() -%}
    cast(row_number() over (order by _metadata.file_name, _metadata.row_index) as bigint)
{%- endmacro %}

{% macro default__source_row_number() -%}
    cast(row_number() over () as bigint)
{%- endmacro %}


{#- string_agg with an order: DuckDB and PostgreSQL put the order inside, Spark after (within group). -#}
{% macro string_agg_ordered(expression, separator, order_by) -%}
    {{ return(adapter.dispatch('string_agg_ordered', 'metanprom')(expression, separator, order_by)) }}
{%- endmacro %}

{% macro default__string_agg_ordered(expression, separator, order_by) -%}
    string_agg({{ expression }}, {{ separator }} order by {{ order_by }})
{%- endmacro %}

{% macro spark__string_agg_ordered(expression, separator, order_by) -%}
    string_agg({{ expression }}, {{ separator }}) within group (order by {{ order_by }})
{%- endmacro %}
