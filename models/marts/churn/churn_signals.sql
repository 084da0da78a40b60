-- Contract table (warehouse-contract.md); the logic lives in int_signals_merged.
with

signals_merged as (
    select * from {{ ref('int_signals_merged') }}
),

final as (
    select * from signals_merged
)

select * from final
