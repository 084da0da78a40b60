-- The cleaning contract, counted on the current extract: one row per anomaly with the
-- number of rows concerned and the decision taken (see the docs block cleaning_contract).
with

staged as (
    select * from {{ ref('stg_clients') }}
),

clients as (
    select * from {{ ref('dim_clients') }}
),

rejected as (
    select * from {{ ref('rejected_rows') }}
),

staged_counts as (
    select
        count(*) as extract_rows,
        coalesce(sum(case when is_age_missing then 1 else 0 end), 0) as age_missing,
        coalesce(sum(case when is_balance_missing then 1 else 0 end), 0) as balance_missing,
        coalesce(sum(case when is_balance_missing and is_churned then 1 else 0 end), 0) as balance_missing_churned,
        coalesce(sum(case when is_duplicate_user_id then 1 else 0 end), 0) as duplicate_user_id_rows
    from staged
),

client_counts as (
    select
        count(*) as accepted_clients,
        coalesce(sum(case when is_churned then 1 else 0 end), 0) as churners,
        coalesce(sum(case when is_zero_products then 1 else 0 end), 0) as zero_products,
        coalesce(sum(case when is_zero_balance then 1 else 0 end), 0) as zero_balance,
        coalesce(sum(case when is_balance_outlier then 1 else 0 end), 0) as balance_outliers,
        coalesce(sum(case when not is_known_city then 1 else 0 end), 0) as unknown_city
    from clients
),

rejected_counts as (
    select count(*) as rejected from rejected
),

anomalies as (
    select 1 as anomaly_order, 'extract_rows' as anomaly, extract_rows as row_count,
        'counted' as decision, 'rows read from the extract' as note
    from staged_counts
    union all
    select 2, 'age_missing', age_missing, 'keep, flag is_age_missing',
        'age is unknown for few clients; their other attributes are valid'
    from staged_counts
    union all
    select 3, 'balance_missing', balance_missing, 'keep, flag is_balance_missing',
        'almost all at equity 0-1 and rarely churned: "unknown balance" is itself informative'
    from staged_counts
    union all
    select 4, 'balance_missing_churned', balance_missing_churned, 'keep',
        'churners among the clients with unknown balance'
    from staged_counts
    union all
    select 5, 'duplicate_user_id_rows', duplicate_user_id_rows, 'keep, flag is_duplicate_user_id',
        'an id repeated in two cities is two different people: key by user_id + city'
    from staged_counts
    union all
    select 6, 'zero_products', zero_products, 'keep, flag is_zero_products',
        'product_segment 0; excluded from product comparisons by the analyses that need products >= 1'
    from client_counts
    union all
    select 7, 'zero_balance', zero_balance, 'keep, flag is_zero_balance', 'a real, if rare, balance'
    from client_counts
    union all
    select 8, 'balance_outliers', balance_outliers, 'keep, flag is_balance_outlier',
        'balances above var balance_outlier_threshold: real wealthy clients, not trimmed'
    from client_counts
    union all
    select 9, 'unknown_city', unknown_city, 'keep, warn',
        'a city not in seed ref_cities: the bank may have opened a branch'
    from client_counts
    union all
    select 10, 'rejected_rows', rejected, 'quarantine in marts.rejected_rows',
        'rows that break a hard rule'
    from rejected_counts
    union all
    select 11, 'accepted_clients', accepted_clients, 'marts.dim_clients', 'rows accepted as clients'
    from client_counts
    union all
    select 12, 'churners', churners, 'counted', 'accepted clients with churn = 1'
    from client_counts
),

final as (
    select
        anomaly_order,
        anomaly,
        cast(row_count as bigint) as row_count,
        decision,
        note
    from anomalies
)

select * from final
