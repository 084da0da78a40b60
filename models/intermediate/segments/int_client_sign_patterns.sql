{{ config(materialized='view') }}

-- Each client's signs, one column per feature (a feature's buckets carry at most one sign) plus
-- the product segment's sign, and the set as one pattern text. Candidates are evaluated on the
-- few thousand distinct patterns instead of scanning every client per candidate.
-- Clients with no sign have no row (they belong to no candidate).
with

client_buckets as (
    select * from {{ ref('int_client_buckets') }}
),

bucket_signs as (
    select * from {{ ref('int_bucket_signs') }}
),

with_signs as (
    select
        client_buckets.client_key,
        client_buckets.source_row_number,
        client_buckets.is_churned,
        client_buckets.balance,
        {% for feature in churn_features() -%}
        {{ feature.name }}_sign.sign_id as sign_{{ feature.name }},
        {% endfor -%}
        segment_sign.sign_id as sign_product_segment
    from client_buckets
    {% for feature in churn_features() -%}
    left join bucket_signs as {{ feature.name }}_sign
        on {{ feature.name }}_sign.feature = '{{ feature.name }}'
        and client_buckets.{{ feature.name }}_bucket = {{ feature.name }}_sign.bucket_order
    {% endfor -%}
    left join bucket_signs as segment_sign
        on segment_sign.feature = 'product_segment'
        and client_buckets.product_segment = segment_sign.product_segment
),

with_pattern as (
    select
        *,
        concat_ws(
            ' | ',
            {% for feature in churn_features() -%}
            sign_{{ feature.name }},
            {% endfor -%}
            sign_product_segment
        ) as sign_pattern
    from with_signs
),

final as (
    select * from with_pattern
    where sign_pattern <> ''
)

select * from final
