-- The whole client base in one row: clients, churners and the overall churn rate that lifts and
-- churn-prone tests compare against (one definition, one scan of dim_clients).
with

clients as (
    select * from {{ ref('int_clients_accepted') }}
),

final as (
    select
        count(*) as all_clients,
        sum(case when is_churned then 1 else 0 end) as all_churners,
        {{ churn_rate() }} as overall_churn_rate
    from clients
)

select * from final
