-- Churn by each bucket of the ten features: counts, rate, Wilson 95 % interval, lift over the
-- overall rate, money held, and whether the bucket passes the churn-prone rate test:
--   * the test group: the bucket itself; for an ordinal feature (equity, products) a tail of
--     values holding fewer than var min_sample_clients clients joins its neighbour (equity 9
--     joins 8, products 0 joins 1), so a small tail is tested with it instead of being dropped;
--   * one-sided score test of the group's rate against the overall rate, p-values adjusted over
--     every group of every feature (var sign_multiplicity: holm or bh);
--   * passes when the adjusted p is below var sign_alpha, the group's lift is at least var
--     signal_min_lift and it holds at least var min_sample_clients clients.
-- The size test of a merged signal is in int_signals_merged.
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

tail_anchors as (
    -- clients counted from each end of an ordinal feature's values (the bucket 'missing' aside)
    select
        *,
        sum(case when feature_kind = 'ordinal' and bucket_order <> {{ var('missing_bucket_order') }} then clients end)
            over (partition by feature order by bucket_order desc rows between unbounded preceding and current row)
            as clients_from_top,
        sum(case when feature_kind = 'ordinal' and bucket_order <> {{ var('missing_bucket_order') }} then clients end)
            over (partition by feature order by bucket_order rows between unbounded preceding and current row)
            as clients_from_bottom
    from with_figures
),

anchored as (
    select
        *,
        max(case when clients_from_top >= {{ var('min_sample_clients') }} then bucket_order end)
            over (partition by feature) as upper_anchor,
        min(case when clients_from_bottom >= {{ var('min_sample_clients') }} then bucket_order end)
            over (partition by feature) as lower_anchor
    from tail_anchors
),

grouped as (
    select
        *,
        case
            when feature_kind <> 'ordinal' or bucket_order = {{ var('missing_bucket_order') }} then bucket_order
            when bucket_order > upper_anchor then upper_anchor
            when bucket_order < lower_anchor then lower_anchor
            else bucket_order
        end as test_group
    from anchored
),

group_counts as (
    select
        *,
        sum(clients) over (partition by feature, test_group) as test_clients,
        sum(churners) over (partition by feature, test_group) as test_churners
    from grouped
),

group_tests as (
    -- one row per test group: the family of the multiplicity correction
    select distinct
        feature,
        test_group,
        test_clients,
        test_churners,
        overall_churn_rate,
        case
            when overall_churn_rate > 0 and overall_churn_rate < 1 then
                {{ normal_upper_tail(
                    '(cast(test_churners as ' ~ type_double() ~ ') / test_clients - overall_churn_rate)'
                    ~ ' / sqrt(overall_churn_rate * (1 - overall_churn_rate) / test_clients)') }}
        end as p_value
    from group_counts
),

ranked_tests as (
    select
        *,
        row_number() over (order by p_value, feature, test_group) as p_rank,
        count(*) over () as tests
    from group_tests
    where p_value is not null
),

adjusted_tests as (
    select
        feature,
        test_group,
        p_value,
        {{ adjusted_p_value(var('sign_multiplicity')) }} as p_value_adjusted
    from ranked_tests
),

tested as (
    select
        group_counts.*,
        adjusted_tests.p_value,
        adjusted_tests.p_value_adjusted,
        coalesce(
            adjusted_tests.p_value_adjusted < {{ var('sign_alpha') }}
            and group_counts.test_clients >= {{ var('min_sample_clients') }}
            and (
                cast(group_counts.test_churners as {{ type_double() }}) / group_counts.test_clients
                >= {{ var('signal_min_lift') }} * group_counts.overall_churn_rate
            ),
            false
        ) as passes_rate_test
    from group_counts
    left join adjusted_tests
        on group_counts.feature = adjusted_tests.feature
        and group_counts.test_group = adjusted_tests.test_group
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
        cast(test_group as integer) as test_group,
        cast(test_clients as bigint) as test_clients,
        cast(p_value as {{ type_double() }}) as p_value,
        cast(p_value_adjusted as {{ type_double() }}) as p_value_adjusted,
        passes_rate_test,
        cast(balance_total as {{ type_double() }}) as balance_total,
        cast(churned_balance_total as {{ type_double() }}) as churned_balance_total,
        cast(est_salary_total as {{ type_double() }}) as est_salary_total,
        cast(churned_est_salary_total as {{ type_double() }}) as churned_est_salary_total
    from tested
)

select * from final
