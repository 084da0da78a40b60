-- Bins of the continuous features. Rule: cut each feature at its k / n quantiles
-- (percentile_disc, k = 1 .. n - 1, n = var quantile_bins, from value counts) over the known values; money
-- features round the cuts to var cut_significant_digits; duplicate cuts and cuts at the
-- minimum are dropped. Bin i is [cut(i - 1), cut(i)); the first and last bins are open.
{%- set n_bins = var('quantile_bins') %}
{%- set continuous = churn_features() | selectattr('kind', 'equalto', 'continuous') | list %}
with

client_features as (
    select * from {{ ref('int_client_features') }}
),

feature_values as (
    {% for feature in continuous %}
    select
        '{{ feature.name }}' as feature,
        {{ feature.name }}_number as value_number
    from client_features
    where {{ feature.name }}_number is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

ranked_values as (
    {{ value_ranks('feature_values', ['feature'], 'value_number') }}
),

quantiles as (
    -- percentile_disc(k / n) from value counts (macros/order_statistics.sql: spills, unlike an ordered-set aggregate)
    select
        feature,
        min(ranked_value) as min_value,
        {% for k in range(1, n_bins) %}
        {{ quantile_from_ranks(k, n_bins) }} as q{{ k }},
        {% endfor %}
        max(ranked_value) as max_value
    from ranked_values
    group by feature
),

raw_cuts as (
    {% for k in range(1, n_bins) %}
    select
        feature,
        min_value,
        max_value,
        q{{ k }} as cut_value
    from quantiles
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

rounded_cuts as (
    select distinct
        raw_cuts.feature,
        raw_cuts.min_value,
        raw_cuts.max_value,
        case
            {% for feature in continuous if not feature.whole -%}
            when raw_cuts.feature = '{{ feature.name }}'
                then {{ round_significant('raw_cuts.cut_value', var('cut_significant_digits')) }}
            {% endfor -%}
            else raw_cuts.cut_value
        end as cut_value
    from raw_cuts
),

usable_cuts as (
    select
        feature,
        min_value,
        max_value,
        cut_value,
        row_number() over (partition by feature order by cut_value) as cut_order
    from rounded_cuts
    where cut_value > min_value
),

features as (
    select distinct
        feature,
        min_value,
        max_value
    from quantiles
),

bins_with_lower as (
    -- the first bin (no lower cut), then one bin starting at each cut
    select
        feature,
        min_value,
        max_value,
        1 as bin_order,
        cast(null as {{ type_double() }}) as lower_bound
    from features
    union all
    select
        feature,
        min_value,
        max_value,
        cut_order + 1 as bin_order,
        cut_value as lower_bound
    from usable_cuts
),

bins as (
    select
        feature,
        bin_order,
        lower_bound,
        lead(lower_bound) over (partition by feature order by bin_order) as upper_bound,
        min_value,
        max_value
    from bins_with_lower
),

final as (
    select
        feature,
        bin_order,
        lower_bound,
        upper_bound,
        min_value,
        max_value,
        {{ range_label(feature_is_whole('feature'), 'lower_bound', 'upper_bound', 'min_value', 'max_value') }} as bucket
    from bins
)

select * from final
