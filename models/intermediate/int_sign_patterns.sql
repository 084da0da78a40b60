-- Distinct sign patterns with their clients, churners and balances, and one row per
-- (pattern, sign) for the candidate joins.
with

client_patterns as (
    select * from {{ ref('int_client_sign_patterns') }}
),

client_signs as (
    select * from {{ ref('int_client_signs') }}
),

pattern_figures as (
    select
        sign_pattern,
        count(*) as clients,
        sum(case when is_churned then 1 else 0 end) as churners,
        coalesce(sum(case when not is_churned then balance end), 0) as retained_balance,
        coalesce(sum(case when is_churned then balance end), 0) as churned_balance,
        min(client_key) as example_client_key
    from client_patterns
    group by sign_pattern
),

pattern_signs as (
    -- the signs of a pattern are those of any one of its clients
    select
        pattern_figures.sign_pattern,
        client_signs.sign_id,
        client_signs.sign_family
    from pattern_figures
    inner join client_signs
        on pattern_figures.example_client_key = client_signs.client_key
),

final as (
    select
        pattern_signs.sign_pattern,
        pattern_signs.sign_id,
        pattern_signs.sign_family,
        pattern_figures.clients,
        pattern_figures.churners,
        pattern_figures.retained_balance,
        pattern_figures.churned_balance
    from pattern_signs
    inner join pattern_figures
        on pattern_signs.sign_pattern = pattern_figures.sign_pattern
)

select * from final
