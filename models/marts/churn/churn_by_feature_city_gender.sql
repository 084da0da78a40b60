-- churn_by_feature broken down by city and gender: the cells the dashboard's filters add up
-- (its rates and intervals are recomputed from clients and churners of the selected cells).
with

buckets as (
    select * from {{ ref('int_client_feature_buckets') }}
),

clients as (
    select * from {{ ref('dim_clients') }}
),

cells as (
    select
        buckets.feature,
        buckets.feature_order,
        buckets.bucket,
        buckets.bucket_order,
        clients.city,
        clients.gender,
        count(*) as clients,
        sum(case when buckets.is_churned then 1 else 0 end) as churners
    from buckets
    inner join clients
        on buckets.client_key = clients.client_key
    group by buckets.feature, buckets.feature_order, buckets.bucket, buckets.bucket_order, clients.city, clients.gender
),

final as (
    select
        feature,
        cast(feature_order as integer) as feature_order,
        bucket,
        cast(bucket_order as integer) as bucket_order,
        city,
        gender,
        cast(clients as bigint) as clients,
        cast(churners as bigint) as churners
    from cells
)

select * from final
