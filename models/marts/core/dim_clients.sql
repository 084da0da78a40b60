-- One row per accepted client. client_key = user_id + city: 73 user ids occur twice in the
-- shipped extract, once in Рыбинск and once in Ярославль, with different attributes.
with

checked as (
    select * from {{ ref('int_clients__checked') }}
),

accepted as (
    select * from checked
    where rejection_reason is null
),

final as (
    select
        cast(user_id as {{ type_string() }}) || '-' || city as client_key,
        source_row_number,
        user_id,
        city,
        gender,
        age,
        score,
        equity,
        balance,
        products,
        case
            when products >= {{ var('products_top_segment') }} then '{{ var("products_top_segment") }}+'
            else cast(products as {{ type_string() }})
        end as product_segment,
        has_credit_card,
        is_active,
        is_churned,
        est_salary,
        is_age_missing,
        is_balance_missing,
        is_duplicate_user_id,
        products = 0 as is_zero_products,
        coalesce(balance = 0, false) as is_zero_balance,
        coalesce(balance > {{ var('balance_outlier_threshold') }}, false) as is_balance_outlier,
        is_known_city
    from accepted
)

select * from final
