-- Every client's bucket for each feature: quantile bins for continuous features, one bucket
-- per value for the others, 'missing' (sorted last) for an unknown value. Ordinal values carry
-- the range [value, value + 1) so adjacent ones can be merged into intervals.
with

feature_values as (
    select * from {{ ref('int_client_feature_values') }}
),

bins as (
    select * from {{ ref('int_feature_bins') }}
),

category_values as (
    select distinct feature, feature_kind, value_number, value_text
    from feature_values
    where feature_kind <> 'continuous'
        and value_text is not null
),

category_buckets as (
    select
        feature,
        value_text,
        value_text as bucket,
        row_number() over (partition by feature order by value_number, value_text) as bucket_order,
        case when feature_kind = 'ordinal' then value_number end as lower_bound,
        case when feature_kind = 'ordinal' then value_number + 1 end as upper_bound
    from category_values
),

continuous_assigned as (
    select
        feature_values.client_key,
        feature_values.feature,
        bins.bucket,
        bins.bin_order as bucket_order,
        bins.lower_bound,
        bins.upper_bound
    from feature_values
    inner join bins
        on feature_values.feature = bins.feature
        and (bins.lower_bound is null or feature_values.value_number >= bins.lower_bound)
        and (bins.upper_bound is null or feature_values.value_number < bins.upper_bound)
    where feature_values.feature_kind = 'continuous'
),

category_assigned as (
    select
        feature_values.client_key,
        feature_values.feature,
        category_buckets.bucket,
        category_buckets.bucket_order,
        category_buckets.lower_bound,
        category_buckets.upper_bound
    from feature_values
    inner join category_buckets
        on feature_values.feature = category_buckets.feature
        and feature_values.value_text = category_buckets.value_text
),

assigned as (
    select * from continuous_assigned
    union all
    select * from category_assigned
),

final as (
    select
        feature_values.client_key,
        feature_values.feature,
        feature_values.feature_kind,
        feature_values.feature_order,
        coalesce(assigned.bucket, 'missing') as bucket,
        coalesce(assigned.bucket_order, {{ var('missing_bucket_order') }}) as bucket_order,
        assigned.lower_bound,
        assigned.upper_bound,
        feature_values.is_churned,
        feature_values.balance,
        feature_values.est_salary
    from feature_values
    left join assigned
        on feature_values.client_key = assigned.client_key
        and feature_values.feature = assigned.feature
)

select * from final
