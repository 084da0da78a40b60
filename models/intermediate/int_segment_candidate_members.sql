-- Members of the eligible candidates (enough clients, enough lift): the input of the selection.
with

candidates as (
    select * from {{ ref('churn_segment_candidates') }}
    where is_eligible
),

client_signs as (
    select * from {{ ref('int_client_signs') }}
),

members as (
    select
        candidates.candidate_id,
        first_sign.client_key,
        first_sign.is_churned,
        first_sign.balance
    from candidates
    inner join client_signs as first_sign
        on candidates.sign_a = first_sign.sign_id
    inner join client_signs as second_sign
        on first_sign.client_key = second_sign.client_key
        and candidates.sign_b = second_sign.sign_id
    left join client_signs as third_sign
        on first_sign.client_key = third_sign.client_key
        and candidates.sign_c = third_sign.sign_id
    where candidates.sign_c is null
        or third_sign.sign_id is not null
),

final as (
    select * from members
)

select * from final
