{#- The ten features churn is broken down by (the extract's columns, as in the bank study).
    kind: nominal   = one bucket per value, no order (city, gender)
          flag      = a 0/1 column, buckets 'no' / 'yes'
          ordinal   = one bucket per value, ordered; adjacent churn-prone values merge (equity, products)
          continuous = quantile bins (var quantile_bins), adjacent churn-prone bins merge
    whole: the values are whole numbers (bins labelled 830–849); otherwise cut points are
           rounded to var cut_significant_digits and labelled like 250k–340k. -#}
{% macro churn_features() %}
    {#- one home: var churn_features in dbt_project.yml, also read by the Python steps -#}
    {{ return(var('churn_features')) }}
{% endmacro %}


{#- True for the features whose values are whole numbers (labels like 830–849). -#}
{% macro feature_is_whole(feature_column) -%}
    {%- set whole = [] -%}
    {%- for feature in churn_features() if feature.kind == 'ordinal' or feature.get('whole') -%}
        {%- do whole.append("'" ~ feature.name ~ "'") -%}
    {%- endfor -%}
    {{ feature_column }} in ({{ whole | join(', ') }})
{%- endmacro %}


{#- A readable label for the half-open range [lower, upper) of a feature; a null bound is open.
    Whole-number features: "830–849" (upper - 1; min/max of the data for open ends), or "4"
    for a single value. Money: "< 250k", "250k–340k", "≥ 1.5M". -#}
{% macro range_label(is_whole, lower, upper, min_value, max_value) -%}
    case
        when {{ is_whole }} and coalesce({{ lower }}, {{ min_value }}) = coalesce({{ upper }} - 1, {{ max_value }})
            then cast(cast(coalesce({{ lower }}, {{ min_value }}) as bigint) as {{ type_string() }})
        when {{ is_whole }}
            then cast(cast(coalesce({{ lower }}, {{ min_value }}) as bigint) as {{ type_string() }})
                || '–' || cast(cast(coalesce({{ upper }} - 1, {{ max_value }}) as bigint) as {{ type_string() }})
        when {{ lower }} is null and {{ upper }} is null  -- one bin: every known value is the same (or no cut)
            then {{ format_amount(min_value) }}
                || case when {{ max_value }} > {{ min_value }} then '–' || {{ format_amount(max_value) }} else '' end
        when {{ lower }} is null then '< ' || {{ format_amount(upper) }}
        when {{ upper }} is null then '≥ ' || {{ format_amount(lower) }}
        else {{ format_amount(lower) }} || '–' || {{ format_amount(upper) }}
    end
{%- endmacro %}
