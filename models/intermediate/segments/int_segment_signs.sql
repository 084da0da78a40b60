-- The signs segments are combined from: every churn signal, plus every value of the
-- categorical signs (gender, activity, credit card, city) and every product segment.
-- sign_family groups signs that describe the same attribute: two signs of one family are
-- never combined (products 3–5 and product segment 4+ are both "products").
with

signals as (
    select * from {{ ref('int_signals_merged') }}
),

buckets as (
    select * from {{ ref('int_churn_buckets') }}
),

segments as (
    select * from {{ ref('int_product_segments_profiled') }}
),

signal_signs as (
    select
        signal_id as sign_id,
        feature,
        feature as sign_family,
        feature_kind,
        case when feature_kind in ('nominal', 'flag') or label = 'missing' then label end as value_text,
        lower_bound,
        upper_bound,
        definition
    from signals
),

category_signs as (
    select
        feature || ': ' || bucket as sign_id,
        feature,
        feature as sign_family,
        feature_kind,
        bucket as value_text,
        cast(null as {{ type_double() }}) as lower_bound,
        cast(null as {{ type_double() }}) as upper_bound,
        feature || ' = ' || bucket as definition
    from buckets
    where
        feature in ('gender', 'last_activity', 'credit_card', 'city')
        and bucket <> 'missing'
),

segment_signs as (
    select
        'product_segment: ' || product_segment as sign_id,
        'product_segment' as feature,
        'products' as sign_family,
        'nominal' as feature_kind,
        product_segment as value_text,
        cast(null as {{ type_double() }}) as lower_bound,
        cast(null as {{ type_double() }}) as upper_bound,
        'product_segment = ' || product_segment as definition
    from segments
),

unioned as (
    select * from signal_signs
    union all
    select * from category_signs
    where sign_id not in (select signal_signs.sign_id from signal_signs)
    union all
    select * from segment_signs
),

final as (
    select * from unioned
)

select * from final
