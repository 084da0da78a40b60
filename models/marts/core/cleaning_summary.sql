-- The cleaning contract, counted on the current extract: the decisions are seed
-- cleaning_decisions (business text, one home); this model counts the rows each one concerns.
-- An anomaly in the seed without a count here gets a null row_count, which a test catches.
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

decisions as (
    select * from {{ ref('cleaning_decisions') }}
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
    select count(*) as rejected_rows from rejected
),

counts as (
    -- one row, one column per anomaly of seed cleaning_decisions (named alike)
    select
        staged_counts.*,
        client_counts.*,
        rejected_counts.*
    from staged_counts
    cross join client_counts
    cross join rejected_counts
),

final as (
    select
        cast(decisions.anomaly_order as integer) as anomaly_order,
        decisions.anomaly,
        cast(case decisions.anomaly
            {% for column in ['extract_rows', 'age_missing', 'balance_missing', 'balance_missing_churned',
                              'duplicate_user_id_rows', 'zero_products', 'zero_balance', 'balance_outliers',
                              'unknown_city', 'rejected_rows', 'accepted_clients', 'churners'] -%}
            when '{{ column }}' then counts.{{ column }}
            {% endfor -%}
        end as bigint) as row_count,
        decisions.decision,
        decisions.note
    from decisions
    cross join counts
)

select * from final
