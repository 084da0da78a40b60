-- Churn by each bucket of the ten features, with the churn signal the bucket belongs to (if any).
with

buckets as (
    select * from {{ ref('int_churn_buckets') }}
),

signals as (
    select * from {{ ref('int_signals_merged') }}
),

final as (
    select
        buckets.feature,
        buckets.feature_kind,
        buckets.feature_order,
        buckets.bucket,
        buckets.bucket_order,
        buckets.lower_bound,
        buckets.upper_bound,
        buckets.clients,
        buckets.churners,
        buckets.churn_rate,
        buckets.ci_low,
        buckets.ci_high,
        buckets.lift,
        buckets.overall_churn_rate,
        buckets.client_share,
        buckets.churner_share,
        buckets.test_clients,
        buckets.p_value,
        buckets.p_value_adjusted,
        buckets.passes_rate_test,
        buckets.clients < {{ var('min_sample_clients') }} as is_small_sample,
        signals.signal_id is not null and buckets.clients >= {{ var('min_sample_clients') }} as is_churn_prone,
        signals.signal_id,
        buckets.balance_total,
        buckets.churned_balance_total,
        buckets.est_salary_total,
        buckets.churned_est_salary_total
    from buckets
    left join signals
        on buckets.feature = signals.feature
        and buckets.bucket_order between signals.first_bucket_order and signals.last_bucket_order
)

select * from final
