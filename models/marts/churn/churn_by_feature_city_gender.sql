-- churn_by_feature broken down by city and gender: the cells the dashboard's filters add up
-- (its rates and intervals are recomputed from clients and churners of the selected cells).
with

client_buckets as (
    select * from {{ ref('int_client_buckets') }}
),

catalog as (
    select * from {{ ref('int_feature_bucket_catalog') }}
),

cells as (
    {% for feature in churn_features() %}
    select
        '{{ feature.name }}' as feature,
        {{ feature.name }}_bucket as bucket_order,
        city,
        gender,
        count(*) as clients,
        sum(case when is_churned then 1 else 0 end) as churners
    from client_buckets
    group by {{ feature.name }}_bucket, city, gender
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (
    select
        catalog.feature,
        cast(catalog.feature_order as integer) as feature_order,
        catalog.bucket,
        cast(catalog.bucket_order as integer) as bucket_order,
        cells.city,
        cells.gender,
        cast(cells.clients as bigint) as clients,
        cast(cells.churners as bigint) as churners,
        cells.clients < {{ var('min_sample_clients') }} as is_small_sample
    from cells
    inner join catalog
        on cells.feature = catalog.feature
        and cells.bucket_order = catalog.bucket_order
)

select * from final
