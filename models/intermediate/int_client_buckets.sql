-- Every client's bucket of each feature, one row per client: <feature>_bucket is the
-- bucket_order of int_feature_bucket_catalog (var missing_bucket_order when the value is missing).
with

client_features as (
    select * from {{ ref('int_client_features') }}
),

bins as (
    select * from {{ ref('int_feature_bins') }}
),

catalog as (
    select * from {{ ref('int_feature_bucket_catalog') }}
),

final as (
    select
        client_features.client_key,
        client_features.is_churned,
        client_features.balance,
        client_features.est_salary,
        client_features.city,
        client_features.gender,
        client_features.product_segment,
        {% for feature in churn_features() -%}
        coalesce({{ feature.name }}_bucket.{{ 'bin_order' if feature.kind == 'continuous' else 'bucket_order' }},
            {{ var('missing_bucket_order') }}) as {{ feature.name }}_bucket{{ ',' if not loop.last }}
        {% endfor %}
    from client_features
    {% for feature in churn_features() -%}
    {% if feature.kind == 'continuous' -%}
    left join bins as {{ feature.name }}_bucket
        on {{ feature.name }}_bucket.feature = '{{ feature.name }}'
        and client_features.{{ feature.name }}_number >= coalesce({{ feature.name }}_bucket.lower_bound, client_features.{{ feature.name }}_number)
        and client_features.{{ feature.name }}_number < coalesce({{ feature.name }}_bucket.upper_bound, client_features.{{ feature.name }}_number + 1)
    {% else -%}
    left join catalog as {{ feature.name }}_bucket
        on {{ feature.name }}_bucket.feature = '{{ feature.name }}'
        and client_features.{{ feature.name }}_text = {{ feature.name }}_bucket.bucket
        and {{ feature.name }}_bucket.bucket_order <> {{ var('missing_bucket_order') }}
    {% endif -%}
    {% endfor %}
)

select * from final
