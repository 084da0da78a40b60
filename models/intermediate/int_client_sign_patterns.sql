-- Each client's set of signs as one pattern text ("sign|sign|..."), so that candidates can be
-- evaluated on the few thousand distinct patterns instead of scanning every client per candidate.
-- Clients with no sign have no row (they belong to no candidate).
with

client_signs as (
    select * from {{ ref('int_client_signs') }}
),

patterns as (
    select
        client_key,
        {{ string_agg_ordered('sign_id', "'|'", 'sign_id') }} as sign_pattern,
        max(case when is_churned then 1 else 0 end) = 1 as is_churned,
        max(balance) as balance
    from client_signs
    group by client_key
),

final as (
    select * from patterns
)

select * from final
