-- Churn signals ("признаки отточности"), derived from the feature buckets by a stated rule:
--   1. a bucket passes the rate test of int_churn_buckets (one-sided test against the overall
--      rate surviving Holm over every bucket tested, lift and size; docs block churn_sign_rule);
--   2. adjacent passing buckets of an ordered feature (ordinal or continuous) merge into one
--      interval; nominal and 0/1 values and the bucket 'missing' stand alone;
--   3. a merged signal is kept when it holds at least var signal_min_client_share of clients.
-- Figures of a merged interval are recomputed from its clients (buckets partition clients).
with

buckets as (
    select * from {{ ref('int_churn_buckets') }}
),

bins as (
    select distinct
        feature,
        min_value,
        max_value
    from {{ ref('int_feature_bins') }}
),


positioned as (
    select
        *,
        row_number() over (partition by feature order by bucket_order) as bucket_position,
        feature_kind in ('ordinal', 'continuous') and bucket <> 'missing' as is_mergeable
    from buckets
),

prone as (
    select
        *,
        row_number() over (partition by feature, is_mergeable order by bucket_order) as prone_position
    from positioned
    where passes_rate_test
),

islands as (
    -- consecutive churn-prone positions share (position - rank among prone); other buckets stand alone
    select
        *,
        case
            when is_mergeable then bucket_position - prone_position
            else 100000 + bucket_position
        end as island
    from prone
),

merged as (
    select
        feature,
        feature_kind,
        feature_order,
        island,
        min(bucket_order) as first_bucket_order,
        max(bucket_order) as last_bucket_order,
        count(*) as merged_buckets,
        case when count(lower_bound) = count(*) then min(lower_bound) end as lower_bound,
        case when count(upper_bound) = count(*) then max(upper_bound) end as upper_bound,
        min(bucket) as first_bucket,
        max(overall_churn_rate) as overall_churn_rate,
        max(all_clients) as all_clients,
        max(all_churners) as all_churners,
        sum(clients) as clients,
        sum(churners) as churners,
        sum(balance_total) as balance_total,
        sum(churned_balance_total) as churned_balance_total,
        sum(est_salary_total) as est_salary_total,
        sum(churned_est_salary_total) as churned_est_salary_total
    from islands
    group by feature, feature_kind, feature_order, island
),

labelled as (
    select
        merged.*,
        case
            when merged.feature_kind in ('nominal', 'flag') or merged.first_bucket = 'missing'
                then merged.first_bucket
            else {{ range_label(feature_is_whole('merged.feature'), 'merged.lower_bound', 'merged.upper_bound',
                                'bins.min_value', 'bins.max_value') }}
        end as label
    from merged
    left join bins
        on merged.feature = bins.feature
),

large_enough as (
    select * from labelled
    where clients >= {{ var('signal_min_client_share') }} * all_clients
),

final as (
    select
        feature || ': ' || label as signal_id,
        feature,
        feature_kind,
        feature_order,
        label,
        case
            when feature_kind in ('nominal', 'flag') or label = 'missing' then feature || ' = ' || label
            else feature || ' ' || label
        end as definition,
        cast(first_bucket_order as integer) as first_bucket_order,
        cast(last_bucket_order as integer) as last_bucket_order,
        cast(merged_buckets as integer) as merged_buckets,
        cast(lower_bound as {{ type_double() }}) as lower_bound,
        cast(upper_bound as {{ type_double() }}) as upper_bound,
        cast(clients as bigint) as clients,
        cast(churners as bigint) as churners,
        {{ churn_figures() }},
        cast(churners as {{ type_double() }}) / all_churners as churner_share,
        cast(balance_total as {{ type_double() }}) as balance_total,
        cast(churned_balance_total as {{ type_double() }}) as churned_balance_total,
        cast(est_salary_total as {{ type_double() }}) as est_salary_total,
        cast(churned_est_salary_total as {{ type_double() }}) as churned_est_salary_total
    from large_enough
)

select * from final
