-- Which sign each feature bucket carries (at most one per feature: churn signals cover disjoint
-- runs of buckets; categorical signs are one per value), plus the product-segment signs.
with

signs as (
    select * from {{ ref('int_segment_signs') }}
),

signals as (
    select * from {{ ref('int_signals_merged') }}
),

catalog as (
    select * from {{ ref('int_feature_bucket_catalog') }}
),

signal_buckets as (
    select
        signals.feature,
        catalog.bucket_order,
        cast(null as {{ type_string() }}) as product_segment,
        signals.signal_id as sign_id
    from signals
    inner join catalog
        on signals.feature = catalog.feature
        and catalog.bucket_order between signals.first_bucket_order and signals.last_bucket_order
),

category_buckets as (
    select
        signs.feature,
        catalog.bucket_order,
        cast(null as {{ type_string() }}) as product_segment,
        signs.sign_id
    from signs
    inner join catalog
        on signs.feature = catalog.feature
        and signs.value_text = catalog.bucket
        and catalog.bucket_order <> {{ var('missing_bucket_order') }}
    where
        signs.sign_id not in (select signals.signal_id from signals)
        and signs.feature <> 'product_segment'
),

segment_signs as (
    select
        'product_segment' as feature,
        cast(null as integer) as bucket_order,
        value_text as product_segment,
        sign_id
    from signs
    where feature = 'product_segment'
),

final as (
    select * from signal_buckets
    union all
    select * from category_buckets
    union all
    select * from segment_signs
)

select * from final
