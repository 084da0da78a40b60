{#- Wilson score interval for a proportion successes / trials, z from var wilson_z (95 %).
    Returns null when trials = 0. -#}
{% macro wilson_bound(successes, trials, side) -%}
    {#- every factor a double: on Spark a literal like 1.96 or 2.0 is a decimal, and decimal
        division keeps as few as 6 digits -#}
    {%- set z = 'cast(' ~ var('wilson_z') ~ ' as ' ~ type_double() ~ ')' -%}
    {%- set n = 'cast(' ~ trials ~ ' as ' ~ type_double() ~ ')' -%}
    {%- set p = 'cast(' ~ successes ~ ' as ' ~ type_double() ~ ') / ' ~ n -%}
    case
        when {{ trials }} > 0 then
            (
                ({{ p }} + {{ z }} * {{ z }} / (2 * {{ n }}))
                {{ '-' if side == 'low' else '+' }} {{ z }} * sqrt(
                    ({{ p }}) * (1 - {{ p }}) / {{ n }}
                    + {{ z }} * {{ z }} / (4 * {{ n }} * {{ n }})
                )
            ) / (1 + {{ z }} * {{ z }} / {{ n }})
    end
{%- endmacro %}

{#- At a rate of 0 (or 1) the lower (upper) bound is exactly 0 (1); floating point would give
    1e-17 or 0.9999999999999998, which breaks ci_low <= rate <= ci_high. Clamped to [0, 1]. -#}
{% macro wilson_low(successes, trials) -%}
    case
        when {{ successes }} <= 0 then 0.0
        else greatest(0.0, {{ wilson_bound(successes, trials, 'low') }})
    end
{%- endmacro %}

{% macro wilson_high(successes, trials) -%}
    case
        when {{ successes }} >= {{ trials }} then 1.0
        else least(1.0, {{ wilson_bound(successes, trials, 'high') }})
    end
{%- endmacro %}


{#- Churn rate of a group, portable: avg over a 1 / 0 indicator, as double. The literals are
    written 1.0e0 / 0.0e0: a double everywhere (on Spark 1.0 is a decimal, and avg of decimals
    keeps 5 decimal places). -#}
{% macro churn_rate(flag='is_churned') -%}
    cast(avg(case when {{ flag }} then 1.0e0 else 0.0e0 end) as {{ type_double() }})
{%- endmacro %}


{#- The usual figures of a group of clients with `clients` and `churners` columns already
    aggregated: rate, Wilson interval, lift over `overall_rate`. -#}
{% macro churn_figures(clients='clients', churners='churners', overall_rate='overall_churn_rate') -%}
    cast({{ churners }} as {{ type_double() }}) / {{ clients }} as churn_rate,
    {{ wilson_low(churners, clients) }} as ci_low,
    {{ wilson_high(churners, clients) }} as ci_high,
    cast({{ churners }} as {{ type_double() }}) / {{ clients }} / {{ overall_rate }} as lift
{%- endmacro %}


{#- A number rounded to `digits` significant digits (bin cut points read as 250k, not 255,849). -#}
{% macro round_significant(expression, digits) -%}
    case
        when {{ expression }} = 0 then 0
        else {{ round_to(expression, digits ~ ' - 1 - cast(floor(log10(abs(' ~ expression ~ '))) as integer)') }}
    end
{%- endmacro %}


{#- A money amount as short text: 250k, 1.2M, 950. -#}
{% macro format_amount(expression) -%}
    case
        when abs({{ expression }}) >= 1000000 then {{ number_text(round_to(expression ~ ' / 1000000.0', 2)) }} || 'M'
        when abs({{ expression }}) >= 1000 then {{ number_text(round_to(expression ~ ' / 1000.0', 1)) }} || 'k'
        else {{ number_text(round_to(expression, 0)) }}
    end
{%- endmacro %}


{#- Upper tail of the standard normal, P(Z >= z), portable (exp and sqrt only): Abramowitz and
    Stegun 26.2.17, absolute error below 7.5e-8, relative error small in the far tail (the
    density is a factor). Used for the one-sided test of a bucket against the overall rate. -#}
{% macro normal_upper_tail(z) -%}
    {%- set x = 'abs(' ~ z ~ ')' -%}
    {%- set t = '(1.0e0 / (1.0e0 + 0.2316419e0 * ' ~ x ~ '))' -%}
    {%- set tail = 'exp(-0.5e0 * ' ~ x ~ ' * ' ~ x ~ ') * 0.3989422804014327e0 * ' ~ t ~ ' * (0.319381530e0 + ' ~ t
        ~ ' * (-0.356563782e0 + ' ~ t ~ ' * (1.781477937e0 + ' ~ t ~ ' * (-1.821255978e0 + ' ~ t ~ ' * 1.330274429e0))))' -%}
    case when {{ z }} >= 0 then {{ tail }} else 1.0e0 - {{ tail }} end
{%- endmacro %}


{#- p-values adjusted over the family of every row of the relation (`method`: holm or bh),
    given `p_value` and a deterministic `p_rank` (1 = smallest p) and `tests` (rows in the family). -#}
{% macro adjusted_p_value(method) -%}
    {%- if method == 'holm' -%}
    least(1.0e0, max((tests - p_rank + 1) * p_value) over (order by p_rank rows between unbounded preceding and current row))
    {%- elif method == 'bh' -%}
    least(1.0e0, min(tests * p_value / p_rank) over (order by p_rank desc rows between unbounded preceding and current row))
    {%- else -%}
    {{ exceptions.raise_compiler_error("var sign_multiplicity must be holm or bh, not " ~ method) }}
    {%- endif -%}
{%- endmacro %}
