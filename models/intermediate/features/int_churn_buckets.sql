-- Churn by each bucket of the ten features: counts, rate, Wilson 95 % interval, lift over the
-- overall rate, money held, and whether the bucket passes the churn-prone rate test: Wilson lower
-- bound above the overall rate and lift at least var signal_min_lift (the size test applies to
-- the merged signal, see churn_signals).
with

client_buckets as (
    select * from {{ ref('int_client_buckets') }}
),

catalog as (
    select * from {{ ref('int_feature_bucket_catalog') }}
),

overall as (
    select * from {{ ref('int_overall_churn') }}
),

per_bucket as (
    {% for feature in churn_features() %}
    select
        '{{ feature.name }}' as feature,
        {{ feature.name }}_bucket as bucket_order,
        count(*) as clients,
        sum(case when is_churned then 1 else 0 end) as churners,
        coalesce(sum(balance), 0) as balance_total,
        coalesce(sum(case when is_churned then balance end), 0) as churned_balance_total,
        coalesce(sum(est_salary), 0) as est_salary_total,
        coalesce(sum(case when is_churned then est_salary end), 0) as churned_est_salary_total
    from client_buckets
    group by {{ feature.name }}_bucket
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

aggregated as (
    select
        catalog.feature,
        catalog.feature_kind,
        catalog.feature_order,
        catalog.bucket,
        catalog.bucket_order,
        catalog.lower_bound,
        catalog.upper_bound,
        per_bucket.clients,
        per_bucket.churners,
        per_bucket.balance_total,
        per_bucket.churned_balance_total,
        per_bucket.est_salary_total,
        per_bucket.churned_est_salary_total
    from per_bucket
    inner join catalog
        on per_bucket.feature = catalog.feature
        and per_bucket.bucket_order = catalog.bucket_order
),

with_figures as (
    select
        aggregated.*,
        overall.all_clients,
        overall.all_churners,
        overall.overall_churn_rate,
        {{ churn_figures() }}
    from aggregated
    cross join overall
),

final as (
    select
        feature,
        feature_kind,
        feature_order,
        bucket,
        cast(bucket_order as integer) as bucket_order,
        cast(lower_bound as {{ type_double() }}) as lower_bound,
        cast(upper_bound as {{ type_double() }}) as upper_bound,
        cast(clients as bigint) as clients,
        cast(churners as bigint) as churners,
        churn_rate,
        ci_low,
        ci_high,
        lift,
        overall_churn_rate,
        cast(churners as {{ type_double() }}) / nullif(all_churners, 0) as churner_share,
        cast(clients as {{ type_double() }}) / all_clients as client_share,
        cast(all_clients as bigint) as all_clients,
        cast(all_churners as bigint) as all_churners,
        ci_low > overall_churn_rate and lift >= {{ var('signal_min_lift') }} as passes_rate_test,
        cast(balance_total as {{ type_double() }}) as balance_total,
        cast(churned_balance_total as {{ type_double() }}) as churned_balance_total,
        cast(est_salary_total as {{ type_double() }}) as est_salary_total,
        cast(churned_est_salary_total as {{ type_double() }}) as churned_est_salary_total
    from with_figures
)

select * from final
