-- Contract table (warehouse-contract.md); the logic lives in int_segment_candidates_evaluated.
with

segment_candidates_evaluated as (
    select * from {{ ref('int_segment_candidates_evaluated') }}
),

final as (
    select * from segment_candidates_evaluated
)

select * from final
