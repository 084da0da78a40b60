-- Who is in each selected segment (targeting lists; recomputing the segment's figures).
with

segments as (
    select * from {{ ref('churn_segments') }}
),

candidate_patterns as (
    select * from {{ ref('int_segment_candidate_members') }}
),

client_patterns as (
    select * from {{ ref('int_client_sign_patterns') }}
),

final as (
    select
        segments.segment_id,
        client_patterns.client_key,
        client_patterns.source_row_number,
        client_patterns.is_churned
    from segments
    inner join candidate_patterns
        on segments.candidate_id = candidate_patterns.candidate_id
    inner join client_patterns
        on candidate_patterns.sign_pattern = client_patterns.sign_pattern
)

select * from final
