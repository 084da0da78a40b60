-- A churn sign never contains a sub-range that churns below the overall rate: every bucket of
-- the ventile grid (or ordinal value) inside a signal, unless it is a small sample (var
-- min_sample_clients, whose rate is noise and which is tested with its neighbour), churns above it.
with

buckets as (
    select * from {{ ref('churn_by_feature') }}
),

final as (
    select
        feature,
        bucket,
        signal_id,
        clients,
        churn_rate,
        overall_churn_rate
    from buckets
    where
        signal_id is not null
        and not is_small_sample
        and churn_rate <= overall_churn_rate
)

select * from final
