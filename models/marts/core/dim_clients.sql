-- Contract table (warehouse-contract.md); the logic lives in int_clients_accepted.
with

clients_accepted as (
    select * from {{ ref('int_clients_accepted') }}
),

final as (
    select * from clients_accepted
)

select * from final
