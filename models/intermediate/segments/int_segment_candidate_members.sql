-- The sign patterns (with their clients and churners) of each eligible candidate: the input of
-- the selection. A pattern belongs to a candidate when it holds all the candidate's signs.
with

candidates as (
    select * from {{ ref('int_segment_candidates_evaluated') }}
    where is_eligible
),

pattern_signs as (
    select * from {{ ref('int_sign_patterns') }}
),

members as (
    select
        candidates.candidate_id,
        first_sign.sign_pattern,
        first_sign.clients,
        first_sign.churners
    from candidates
    inner join pattern_signs as first_sign
        on candidates.sign_a = first_sign.sign_id
    inner join pattern_signs as second_sign
        on first_sign.sign_pattern = second_sign.sign_pattern
        and candidates.sign_b = second_sign.sign_id
    left join pattern_signs as third_sign
        on first_sign.sign_pattern = third_sign.sign_pattern
        and candidates.sign_c = third_sign.sign_id
    where
        candidates.sign_c is null
        or third_sign.sign_id is not null
),

final as (
    select * from members
)

select * from final
