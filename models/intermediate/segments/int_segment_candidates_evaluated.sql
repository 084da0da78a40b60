-- Every conjunction of 2 or 3 signs of different families, evaluated: clients, churners, rate,
-- Wilson interval, lift, share of all churners, balance at risk. Empty combinations are absent.
-- Evaluated on aggregated sign patterns (int_sign_patterns): a client is in a candidate when
-- its pattern holds the candidate's signs, so pattern weights add up to the exact figures.
-- balance_at_risk = known balances of the segment's clients who have not churned yet (the
-- money still in the bank held by clients who share the churners' signs);
-- expected_balance_loss = balance_at_risk x churn_rate.
with

pattern_signs as (
    select * from {{ ref('int_sign_patterns') }}
),

signs as (
    select * from {{ ref('int_segment_signs') }}
),

overall as (
    select * from {{ ref('int_overall_churn') }}
),

pairs as (
    select
        first_sign.sign_pattern,
        first_sign.sign_id as sign_a,
        second_sign.sign_id as sign_b,
        cast(null as {{ type_string() }}) as sign_c,
        first_sign.clients,
        first_sign.churners,
        first_sign.retained_balance,
        first_sign.churned_balance,
        first_sign.retained_balance_capped
    from pattern_signs as first_sign
    inner join pattern_signs as second_sign
        on first_sign.sign_pattern = second_sign.sign_pattern
        and first_sign.sign_id < second_sign.sign_id
        and first_sign.sign_family <> second_sign.sign_family
),

triples as (
    select
        first_sign.sign_pattern,
        first_sign.sign_id as sign_a,
        second_sign.sign_id as sign_b,
        third_sign.sign_id as sign_c,
        first_sign.clients,
        first_sign.churners,
        first_sign.retained_balance,
        first_sign.churned_balance,
        first_sign.retained_balance_capped
    from pattern_signs as first_sign
    inner join pattern_signs as second_sign
        on first_sign.sign_pattern = second_sign.sign_pattern
        and first_sign.sign_id < second_sign.sign_id
        and first_sign.sign_family <> second_sign.sign_family
    inner join pattern_signs as third_sign
        on first_sign.sign_pattern = third_sign.sign_pattern
        and second_sign.sign_id < third_sign.sign_id
        and first_sign.sign_family <> third_sign.sign_family
        and second_sign.sign_family <> third_sign.sign_family
),

memberships as (
    select * from pairs
    union all
    select * from triples
),

aggregated as (
    select
        sign_a,
        sign_b,
        sign_c,
        sum(clients) as clients,
        sum(churners) as churners,
        sum(retained_balance) as balance_at_risk,
        sum(churned_balance) as churned_balance,
        sum(retained_balance_capped) as balance_at_risk_capped
    from memberships
    group by sign_a, sign_b, sign_c
),

with_figures as (
    select
        aggregated.*,
        overall.all_clients,
        overall.all_churners,
        overall.overall_churn_rate,
        {{ churn_figures() }}
    from aggregated
    cross join overall
),

final as (
    select
        (
            with_figures.sign_a || ' & ' || with_figures.sign_b
            || coalesce(' & ' || with_figures.sign_c, '')
        ) as candidate_id,
        cast(case when with_figures.sign_c is null then 2 else 3 end as integer) as n_signs,
        with_figures.sign_a,
        with_figures.sign_b,
        with_figures.sign_c,
        (
            sign_a_def.definition || ' and ' || sign_b_def.definition
            || coalesce(' and ' || sign_c_def.definition, '')
        ) as definition,
        cast(with_figures.clients as bigint) as clients,
        cast(with_figures.churners as bigint) as churners,
        with_figures.churn_rate,
        with_figures.ci_low,
        with_figures.ci_high,
        with_figures.lift,
        cast(with_figures.churners as {{ type_double() }}) / with_figures.all_churners as churner_share,
        cast(with_figures.clients as {{ type_double() }}) / with_figures.all_clients as client_share,
        cast(with_figures.balance_at_risk as {{ type_double() }}) as balance_at_risk,
        cast(with_figures.balance_at_risk as {{ type_double() }}) * with_figures.churn_rate as expected_balance_loss,
        cast(with_figures.churned_balance as {{ type_double() }}) as churned_balance,
        cast(with_figures.balance_at_risk_capped as {{ type_double() }}) * with_figures.churn_rate
            as expected_balance_loss_capped,
        (
            with_figures.clients >= {{ var('segment_min_client_share') }} * with_figures.all_clients
            and with_figures.clients >= {{ var('min_sample_clients') }}
            and with_figures.lift >= {{ var('segment_min_lift') }}
        ) as is_eligible
    from with_figures
    inner join signs as sign_a_def
        on with_figures.sign_a = sign_a_def.sign_id
    inner join signs as sign_b_def
        on with_figures.sign_b = sign_b_def.sign_id
    left join signs as sign_c_def
        on with_figures.sign_c = sign_c_def.sign_id
)

select * from final
