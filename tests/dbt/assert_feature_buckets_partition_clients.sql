-- Every feature's buckets partition all clients: per feature, the buckets' clients and
-- churners add up to dim_clients' totals. Returns the features that do not.
with

buckets as (
    select * from {{ ref('churn_by_feature') }}
),

clients as (
    select * from {{ ref('dim_clients') }}
),

totals as (
    select
        count(*) as all_clients,
        sum(case when is_churned then 1 else 0 end) as all_churners
    from clients
),

per_feature as (
    select
        feature,
        sum(clients) as bucket_clients,
        sum(churners) as bucket_churners
    from buckets
    group by feature
),

final as (
    select
        per_feature.*,
        totals.all_clients,
        totals.all_churners
    from per_feature
    cross join totals
    where
        per_feature.bucket_clients <> totals.all_clients
        or per_feature.bucket_churners <> totals.all_churners
)

select * from final
