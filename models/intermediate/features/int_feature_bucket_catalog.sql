-- Every bucket of every feature: quantile bins of the continuous features (int_feature_bins),
-- one bucket per value for the others (ordered; ordinal values carry the range [v, v + 1) so
-- adjacent ones can merge), and 'missing' (sorted last) for each feature.
{%- set ordinal_features = churn_features() | selectattr('kind', 'equalto', 'ordinal') | map(attribute='name') %}
{%- set ordinal_list = "'" ~ (ordinal_features | join("', '")) ~ "'" %}
with

client_features as (
    select * from {{ ref('int_client_features') }}
),

bins as (
    select * from {{ ref('int_feature_bins') }}
),

category_values as (
    {% for feature in churn_features() if feature.kind != 'continuous' %}
    select distinct
        '{{ feature.name }}' as feature,
        {{ feature.name }}_number as value_number,
        {{ feature.name }}_text as value_text
    from client_features
    where {{ feature.name }}_text is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

category_buckets as (
    select
        feature,
        value_text as bucket,
        cast(row_number() over (partition by feature order by value_number, value_text) as integer) as bucket_order,
        case when feature in ({{ ordinal_list }}) then value_number end as lower_bound,
        case when feature in ({{ ordinal_list }}) then value_number + 1 end as upper_bound
    from category_values
),

continuous_buckets as (
    select
        feature,
        bucket,
        cast(bin_order as integer) as bucket_order,
        lower_bound,
        upper_bound
    from bins
),

features as (
    {% for feature in churn_features() %}
    select
        '{{ feature.name }}' as feature,
        '{{ feature.kind }}' as feature_kind,
        {{ loop.index }} as feature_order
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

missing_buckets as (
    select
        feature,
        'missing' as bucket,
        {{ var('missing_bucket_order') }} as bucket_order,
        cast(null as {{ type_double() }}) as lower_bound,
        cast(null as {{ type_double() }}) as upper_bound
    from features
),

buckets as (
    select * from category_buckets
    union all
    select * from continuous_buckets
    union all
    select * from missing_buckets
),

final as (
    select
        buckets.feature,
        features.feature_kind,
        features.feature_order,
        buckets.bucket,
        buckets.bucket_order,
        buckets.lower_bound,
        buckets.upper_bound
    from buckets
    inner join features
        on buckets.feature = features.feature
)

select * from final
