-- Money held by churned clients: balances and estimated incomes of all, churned and retained
-- clients, and the churned share. Per churn signal, see churn_signals.churned_balance_total.
with

clients as (
    select * from {{ ref('dim_clients') }}
),

groups as (
    select
        1 as group_order,
        'all clients' as client_group,
        count(*) as clients,
        count(balance) as clients_with_balance,
        coalesce(sum(balance), 0) as balance_total,
        coalesce(sum(est_salary), 0) as est_salary_total
    from clients
    union all
    select
        case when is_churned then 2 else 3 end as group_order,
        case when is_churned then 'churned' else 'retained' end as client_group,
        count(*) as clients,
        count(balance) as clients_with_balance,
        coalesce(sum(balance), 0) as balance_total,
        coalesce(sum(est_salary), 0) as est_salary_total
    from clients
    group by is_churned
),

bank_total as (
    select
        balance_total as bank_balance_total,
        est_salary_total as bank_est_salary_total
    from groups
    where group_order = 1
),

final as (
    select
        cast(groups.group_order as integer) as group_order,
        groups.client_group,
        cast(groups.clients as bigint) as clients,
        cast(groups.clients_with_balance as bigint) as clients_with_balance,
        cast(groups.balance_total as {{ type_double() }}) as balance_total,
        cast(groups.est_salary_total as {{ type_double() }}) as est_salary_total,
        cast(groups.balance_total as {{ type_double() }}) / nullif(bank_total.bank_balance_total, 0) as balance_share,
        (
            cast(groups.est_salary_total as {{ type_double() }})
            / nullif(bank_total.bank_est_salary_total, 0)
        ) as est_salary_share
    from groups
    cross join bank_total
)

select * from final
