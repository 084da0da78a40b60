-- Greedy selection of segments among the eligible candidates (var segment_max_count rounds),
-- on sign patterns weighted by their clients and churners (int_segment_candidate_members):
-- each round picks the candidate reaching the most churners not yet reached by the segments
-- already picked (ties: higher lift, then candidate_id), skipping near-duplicates, i.e.
-- candidates whose Jaccard overlap with a picked segment exceeds var segment_max_overlap.
-- A round with no candidate reaching a new churner picks nothing.
{%- set rounds = var('segment_max_count') %}
with

candidates as (
    select * from {{ ref('churn_segment_candidates') }}
    where is_eligible
),

members as (
    select * from {{ ref('int_segment_candidate_members') }}
),

{% for round in range(1, rounds + 1) %}
picked_before_{{ round }} as (
    {% if round == 1 -%}
    select cast(null as {{ type_string() }}) as candidate_id, 0 as pick_order, cast(0 as bigint) as new_churners
    from candidates
    where 1 = 0
    {%- else -%}
    select * from picked_before_{{ round - 1 }}
    union all
    select candidate_id, {{ round - 1 }} as pick_order, new_churners from pick_{{ round - 1 }}
    {%- endif %}
),

reached_{{ round }} as (
    select distinct members.sign_pattern
    from members
    inner join picked_before_{{ round }} as picked
        on members.candidate_id = picked.candidate_id
),

open_candidates_{{ round }} as (
    select candidates.*
    from candidates
    left join picked_before_{{ round }} as picked
        on candidates.candidate_id = picked.candidate_id
    where picked.candidate_id is null
),

gains_{{ round }} as (
    select
        open_candidates.candidate_id,
        sum(case when reached.sign_pattern is null then members.churners else 0 end) as new_churners
    from open_candidates_{{ round }} as open_candidates
    inner join members
        on open_candidates.candidate_id = members.candidate_id
    left join reached_{{ round }} as reached
        on members.sign_pattern = reached.sign_pattern
    group by open_candidates.candidate_id
),

shared_{{ round }} as (
    select
        members.candidate_id,
        picked_members.candidate_id as picked_id,
        sum(members.clients) as shared_clients
    from members
    inner join members as picked_members
        on members.sign_pattern = picked_members.sign_pattern
    inner join picked_before_{{ round }} as picked
        on picked_members.candidate_id = picked.candidate_id
    group by members.candidate_id, picked_members.candidate_id
),

overlap_{{ round }} as (
    select
        shared.candidate_id,
        max(cast(shared.shared_clients as {{ type_double() }})
            / (candidate.clients + picked_candidate.clients - shared.shared_clients)) as max_jaccard
    from shared_{{ round }} as shared
    inner join candidates as candidate
        on shared.candidate_id = candidate.candidate_id
    inner join candidates as picked_candidate
        on shared.picked_id = picked_candidate.candidate_id
    group by shared.candidate_id
),

pick_{{ round }} as (
    select
        gains.candidate_id,
        cast(gains.new_churners as bigint) as new_churners
    from gains_{{ round }} as gains
    inner join open_candidates_{{ round }} as open_candidates
        on gains.candidate_id = open_candidates.candidate_id
    left join overlap_{{ round }} as overlap
        on gains.candidate_id = overlap.candidate_id
    where gains.new_churners > 0
        and coalesce(overlap.max_jaccard, 0) <= {{ var('segment_max_overlap') }}
    order by gains.new_churners desc, open_candidates.lift desc, gains.candidate_id
    limit 1
),

{% endfor %}
final as (
    select
        candidate_id,
        cast(pick_order as integer) as pick_order,
        new_churners
    from picked_before_{{ rounds }}
    union all
    select
        candidate_id,
        {{ rounds }} as pick_order,
        new_churners
    from pick_{{ rounds }}
)

select * from final
