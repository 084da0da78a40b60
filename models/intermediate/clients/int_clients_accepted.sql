-- One row per accepted client. client_key = user_id + city: 73 user ids occur twice in the
-- shipped extract, once in Рыбинск and once in Ярославль, with different attributes.
with

staged as (
    select * from {{ ref('stg_clients') }}
),

rejections as (
    select * from {{ ref('int_clients_rejected') }}
),

known_cities as (
    select city from {{ ref('ref_cities') }}
),

accepted as (
    -- every staging row that broke no hard rule (rejections holds the others)
    select staged.*
    from staged
    left join rejections
        on staged.source_row_number = rejections.source_row_number
    where rejections.source_row_number is null
),

with_city_check as (
    select
        accepted.*,
        known_cities.city is not null as is_known_city
    from accepted
    left join known_cities
        on accepted.city = known_cities.city
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
    from with_city_check
)

select * from final
