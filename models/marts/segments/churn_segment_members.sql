-- Who is in each selected segment (targeting lists; recomputing the segment's figures).
with

segments as (
    select * from {{ ref('churn_segments') }}
),

members as (
    select * from {{ ref('int_segment_candidate_members') }}
),

final as (
    select
        segments.segment_id,
        members.client_key,
        members.is_churned
    from segments
    inner join members
        on segments.candidate_id = members.candidate_id
)

select * from final
