-- Re-apply each selected segment's rule (its signs' bounds and values) to dim_clients directly,
-- without the intermediate membership tables, and compare with churn_segment_members and the
-- segment's figures. Returns every difference.
with

segments as (
    select * from {{ ref('churn_segments') }}
),

candidates as (
    select * from {{ ref('churn_segment_candidates') }}
),

signs as (
    select * from {{ ref('int_segment_signs') }}
),

clients as (
    select * from {{ ref('dim_clients') }}
),

members as (
    select * from {{ ref('churn_segment_members') }}
),

segment_signs as (
    select segments.segment_id, candidates.sign_a as sign_id
    from segments inner join candidates on segments.candidate_id = candidates.candidate_id
    union all
    select segments.segment_id, candidates.sign_b
    from segments inner join candidates on segments.candidate_id = candidates.candidate_id
    union all
    select segments.segment_id, candidates.sign_c
    from segments inner join candidates on segments.candidate_id = candidates.candidate_id
    where candidates.sign_c is not null
),

client_values as (
    select
        source_row_number,
        is_churned,
        city,
        gender,
        product_segment,
        case when has_credit_card then 'yes' else 'no' end as credit_card,
        case when is_active then 'yes' else 'no' end as last_activity,
        cast(age as {{ type_double() }}) as age,
        cast(score as {{ type_double() }}) as score,
        cast(equity as {{ type_double() }}) as equity,
        balance,
        cast(products as {{ type_double() }}) as products,
        est_salary
    from clients
),

segment_sign_definitions as (
    select
        segment_signs.segment_id,
        signs.*
    from segment_signs
    inner join signs
        on segment_signs.sign_id = signs.sign_id
),

sign_hits as (
    -- one plain join per feature (equality for categories and 'missing', a range for intervals),
    -- so the engine can use hash and range joins rather than testing every client against every sign
    {% for feature in ['city', 'gender', 'product_segment', 'credit_card', 'last_activity'] %}
    select definitions.segment_id, client_values.source_row_number, client_values.is_churned
    from segment_sign_definitions as definitions
    inner join client_values
        on client_values.{{ feature }} = definitions.value_text
    where definitions.feature = '{{ feature }}'
    union all
    {% endfor %}
    {% for feature in ['age', 'score', 'equity', 'balance', 'products', 'est_salary'] %}
    select definitions.segment_id, client_values.source_row_number, client_values.is_churned
    from segment_sign_definitions as definitions
    inner join client_values
        on client_values.{{ feature }} >= coalesce(definitions.lower_bound, -1e308)
        and client_values.{{ feature }} < coalesce(definitions.upper_bound, 1e308)
    where definitions.feature = '{{ feature }}'
        and coalesce(definitions.value_text, '') <> 'missing'
    union all
    select definitions.segment_id, client_values.source_row_number, client_values.is_churned
    from segment_sign_definitions as definitions
    inner join client_values
        on client_values.{{ feature }} is null
    where definitions.feature = '{{ feature }}'
        and definitions.value_text = 'missing'
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

signs_needed as (
    select segment_id, count(*) as needed
    from segment_signs
    group by segment_id
),

recomputed_members as (
    -- grouped by the integer source_row_number (unique in dim_clients): cheaper than the text key
    select
        sign_hits.segment_id,
        sign_hits.source_row_number,
        max(case when sign_hits.is_churned then 1 else 0 end) as churned
    from sign_hits
    inner join signs_needed
        on sign_hits.segment_id = signs_needed.segment_id
    group by sign_hits.segment_id, sign_hits.source_row_number, signs_needed.needed
    having count(*) = signs_needed.needed
),

members_numbered as (
    select
        members.segment_id,
        clients.source_row_number
    from members
    inner join clients
        on members.client_key = clients.client_key
),

member_differences as (
    select coalesce(recomputed.segment_id, members.segment_id) as segment_id, 'member differs' as problem
    from recomputed_members as recomputed
    full outer join members_numbered as members
        on recomputed.segment_id = members.segment_id
        and recomputed.source_row_number = members.source_row_number
    where recomputed.source_row_number is null or members.source_row_number is null
),

figure_differences as (
    select segments.segment_id, 'figures differ' as problem
    from segments
    left join (
        select segment_id, count(*) as clients, sum(churned) as churners
        from recomputed_members
        group by segment_id
    ) as recomputed
        on segments.segment_id = recomputed.segment_id
    where coalesce(recomputed.clients, -1) <> segments.clients
        or coalesce(recomputed.churners, -1) <> segments.churners
),

final as (
    select * from member_differences
    union all
    select * from figure_differences
)

select * from final
