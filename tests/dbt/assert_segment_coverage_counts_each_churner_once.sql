-- churn_segments.cumulative_churners_reached is the union of the churners of the segments of
-- this or a higher priority: recounted here from the members, each churner once. Members and
-- clients are matched by source_row_number (a number: at 100 M clients, joining the text
-- client_key spills gigabytes).
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
        members.source_row_number,
        min(segments.priority) as first_priority
    from members
    inner join segments
        on members.segment_id = segments.segment_id
    inner join clients
        on members.source_row_number = clients.source_row_number
    where clients.is_churned
    group by members.source_row_number
),

recounted as (
    select
        segments.segment_id,
        segments.cumulative_churners_reached,
        count(churned_members.source_row_number) as churners_reached
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
