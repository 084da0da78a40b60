-- Greedy selection of segments among the eligible candidates (var segment_max_count rounds),
-- on sign patterns weighted by their clients and churners (int_segment_candidate_members):
-- each round picks the candidate reaching the most churners not yet reached by the segments
-- already picked (ties: higher lift, then candidate_id), skipping near-duplicates, i.e.
-- candidates whose Jaccard overlap with a picked segment exceeds var segment_max_overlap.
-- A round with no candidate reaching a new churner picks nothing.
--
-- The whole state of the selection travels in one relation at (candidate, pattern) grain, and
-- each round is a chain of CTEs that read the previous one exactly once (window functions
-- instead of self-joins). Engines that inline CTEs (Spark) then plan a query whose size grows
-- linearly with the rounds; a round that re-read the picks several times would grow
-- exponentially.
{%- set rounds = var('segment_max_count') %}
{%- set max_overlap = var('segment_max_overlap') %}
with

candidates as (
    select * from {{ ref('int_segment_candidates_evaluated') }}
    where is_eligible
),

members as (
    select * from {{ ref('int_segment_candidate_members') }}
),

-- one row per (eligible candidate, pattern); nothing picked yet
state_0 as (
    select
        members.candidate_id,
        members.sign_pattern,
        members.clients,
        members.churners,
        candidates.clients as candidate_clients,
        candidates.lift,
        cast(null as integer) as pick_order,
        cast(null as bigint) as new_churners,
        0 as is_reached{% if rounds > 0 %},{% endif %}
        {%- for pick in range(1, rounds + 1) %}
        0 as in_pick_{{ pick }},
        cast(0 as bigint) as pick_{{ pick }}_clients{% if not loop.last %},{% endif %}
        {%- endfor %}
    from members
    inner join candidates
        on members.candidate_id = candidates.candidate_id
),

{% for round in range(1, rounds + 1) %}
-- round {{ round }}: churners each candidate would add, and its overlap with each earlier pick
scored_{{ round }} as (
    select
        state.*,
        sum(case when state.is_reached = 0 then state.churners else 0 end)
            over (partition by state.candidate_id) as gain{% if round > 1 %},{% endif %}
        -- noqa: disable=LT02
        -- (LT02 off in this generated list: sqlfluff misplaces indents in a Jinja loop whose last item has no comma)
        {%- for pick in range(1, round) %}
        sum(case when state.in_pick_{{ pick }} = 1 then state.clients else 0 end)
            over (partition by state.candidate_id) as shared_{{ pick }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from state_{{ round - 1 }} as state
    -- noqa: enable=LT02
),

qualified_{{ round }} as (
    select
        scored.*,
        -- noqa: disable=LT02
        -- (LT02 off in this generated condition: sqlfluff misplaces indents in a Jinja loop that may run zero times)
        case
            when
                scored.pick_order is null
                and scored.gain > 0
                {%- for pick in range(1, round) %}
                and (
                    cast(scored.shared_{{ pick }} as {{ type_double() }})
                    / (scored.candidate_clients + scored.pick_{{ pick }}_clients - scored.shared_{{ pick }})
                ) <= {{ max_overlap }}
                {%- endfor %}
                then 1
            else 0
        end as qualifies
    from scored_{{ round }} as scored
    -- noqa: enable=LT02
),

ranked_{{ round }} as (
    select
        qualified.*,
        dense_rank() over (
            order by qualified.qualifies desc, qualified.gain desc, qualified.lift desc, qualified.candidate_id asc
        ) as candidate_rank
    from qualified_{{ round }} as qualified
),

-- the pick (rank 1, if it qualifies) joins the state: its order and gain, its patterns reached
state_{{ round }} as (
    select
        ranked.candidate_id,
        ranked.sign_pattern,
        ranked.clients,
        ranked.churners,
        ranked.candidate_clients,
        ranked.lift,
        case
            when ranked.candidate_rank = 1 and ranked.qualifies = 1 then {{ round }}
            else ranked.pick_order
        end as pick_order,
        case
            when ranked.candidate_rank = 1 and ranked.qualifies = 1 then cast(ranked.gain as bigint)
            else ranked.new_churners
        end as new_churners,
        greatest(
            ranked.is_reached,
            max(case when ranked.candidate_rank = 1 and ranked.qualifies = 1 then 1 else 0 end)
                over (partition by ranked.sign_pattern)
        ) as is_reached,
        -- noqa: disable=LT02
        -- (LT02 off in this generated list: sqlfluff misplaces indents in a Jinja loop whose last item has no comma)
        {%- for pick in range(1, rounds + 1) %}
        {%- if pick == round %}
        max(case when ranked.candidate_rank = 1 and ranked.qualifies = 1 then 1 else 0 end)
            over (partition by ranked.sign_pattern) as in_pick_{{ pick }},
        max(case when ranked.candidate_rank = 1 and ranked.qualifies = 1 then ranked.candidate_clients else 0 end)
            over () as pick_{{ pick }}_clients{% if not loop.last %},{% endif %}
        {%- else %}
        ranked.in_pick_{{ pick }},
        ranked.pick_{{ pick }}_clients{% if not loop.last %},{% endif %}
        {%- endif %}
        {%- endfor %}
    from ranked_{{ round }} as ranked
    -- noqa: enable=LT02
),

{% endfor %}
final as (
    select distinct
        candidate_id,
        cast(pick_order as integer) as pick_order,
        cast(new_churners as bigint) as new_churners
    from state_{{ rounds }}
    where pick_order is not null
)

select * from final
