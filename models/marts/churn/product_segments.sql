-- Contract table (warehouse-contract.md); the logic lives in int_product_segments_profiled.
with

product_segments_profiled as (
    select * from {{ ref('int_product_segments_profiled') }}
),

final as (
    select * from product_segments_profiled
)

select * from final
