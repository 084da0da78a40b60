-- An extract whose every row is rejected must not be published: the marts would be empty.
-- Returns one row (the failure) when dim_clients has no client.
with

accepted as (
    select count(*) as clients from {{ ref('dim_clients') }}
),

final as (
    select clients from accepted
    where clients = 0
)

select * from final
