{#- Churn of clients with 4 vs 5 products and a pooled two-proportion z statistic. -#}
{% macro products_4_vs_5_comparison() %}
with

clients as (
    select * from {{ ref('dim_clients') }}
),

groups as (
    select
        sum(case when products = 4 then 1 else 0 end) as clients_4,
        sum(case when products = 4 and is_churned then 1 else 0 end) as churners_4,
        sum(case when products >= 5 then 1 else 0 end) as clients_5,
        sum(case when products >= 5 and is_churned then 1 else 0 end) as churners_5
    from clients
),

rates as (
    select
        *,
        cast(churners_4 as {{ type_double() }}) / clients_4 as rate_4,
        cast(churners_5 as {{ type_double() }}) / clients_5 as rate_5,
        cast(churners_4 + churners_5 as {{ type_double() }}) / (clients_4 + clients_5) as pooled_rate
    from groups
),

final as (
    select
        *,
        (rate_4 - rate_5)
            / sqrt(pooled_rate * (1 - pooled_rate) * (1.0e0 / clients_4 + 1.0e0 / clients_5)) as z_statistic
    from rates
)

select * from final
{% endmacro %}
