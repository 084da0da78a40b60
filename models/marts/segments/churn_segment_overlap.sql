-- Pairwise overlap of the selected segments: shared clients and churners, Jaccard index.
with

segments as (
    select * from {{ ref('churn_segments') }}
),

members as (
    select * from {{ ref('churn_segment_members') }}
),

shared as (
    select
        first_member.segment_id as segment_a,
        second_member.segment_id as segment_b,
        count(*) as shared_clients,
        sum(case when first_member.is_churned then 1 else 0 end) as shared_churners
    from members as first_member
    inner join members as second_member
        on first_member.client_key = second_member.client_key
        and first_member.segment_id < second_member.segment_id
    group by first_member.segment_id, second_member.segment_id
),

pairs as (
    select
        segment_a.segment_id as segment_a,
        segment_b.segment_id as segment_b,
        segment_a.clients as clients_a,
        segment_b.clients as clients_b
    from segments as segment_a
    inner join segments as segment_b
        on segment_a.segment_id < segment_b.segment_id
),

final as (
    select
        pairs.segment_a,
        pairs.segment_b,
        cast(coalesce(shared.shared_clients, 0) as bigint) as shared_clients,
        cast(coalesce(shared.shared_churners, 0) as bigint) as shared_churners,
        (
            cast(coalesce(shared.shared_clients, 0) as {{ type_double() }})
            / (pairs.clients_a + pairs.clients_b - coalesce(shared.shared_clients, 0))
        ) as jaccard
    from pairs
    left join shared
        on pairs.segment_a = shared.segment_a
        and pairs.segment_b = shared.segment_b
)

select * from final
