-- churn_segments.cumulative_churners_reached is the union of the churners of the segments of
-- this or a higher priority: recounted here from the members, each churner once.
with

segments as (
    select * from {{ ref('churn_segments') }}
),

members as (
    select * from {{ ref('churn_segment_members') }}
),

clients as (
    select * from {{ ref('dim_clients') }}
),

churned_members as (
    select
        members.client_key,
        min(segments.priority) as first_priority
    from members
    inner join segments
        on members.segment_id = segments.segment_id
    inner join clients
        on members.client_key = clients.client_key
    where clients.is_churned
    group by members.client_key
),

recounted as (
    select
        segments.segment_id,
        segments.cumulative_churners_reached,
        count(churned_members.client_key) as churners_reached
    from segments
    left join churned_members
        on segments.priority >= churned_members.first_priority
    group by segments.segment_id, segments.cumulative_churners_reached
),

final as (
    select * from recounted
    where cumulative_churners_reached <> churners_reached
)

select * from final
