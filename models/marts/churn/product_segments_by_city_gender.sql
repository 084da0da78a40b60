-- Product segments broken down by city and gender (the dashboard's filters read this).
with

clients as (
    select * from {{ ref('dim_clients') }}
),

overall as (
    select * from {{ ref('int_overall_churn') }}
),

cells as (
    select
        product_segment,
        min(products) as segment_order,
        city,
        gender,
        count(*) as clients,
        sum(case when is_churned then 1 else 0 end) as churners,
        coalesce(sum(case when is_churned then balance end), 0) as churned_balance_total
    from clients
    group by product_segment, city, gender
),

final as (
    select
        cells.product_segment,
        cast(cells.segment_order as integer) as segment_order,
        cells.city,
        cells.gender,
        cast(cells.clients as bigint) as clients,
        cast(cells.churners as bigint) as churners,
        {{ churn_figures() }},
        cells.clients < {{ var('min_sample_clients') }} as is_small_sample,
        cast(cells.churned_balance_total as {{ type_double() }}) as churned_balance_total
    from cells
    cross join overall
)

select * from final
