-- The selected segments of combined churn signs, one row each, with figures, priority and
-- a recommendation. segment_id follows the selection order (S1 reaches the most churners).
-- Priority: by expected_balance_loss (balance still held by the segment's retained clients x
-- its churn rate), the money the bank keeps by retaining the segment; ties by churners reached.
with

selection as (
    select * from {{ ref('int_segment_selection') }}
),

candidates as (
    select * from {{ ref('int_segment_candidates_evaluated') }}
),

signs as (
    select * from {{ ref('int_segment_signs') }}
),

actions as (
    select * from {{ ref('retention_actions') }}
),

overall as (
    select * from {{ ref('int_overall_churn') }}
),

candidate_members as (
    select * from {{ ref('int_segment_candidate_members') }}
),

selected as (
    select
        'S' || cast(selection.pick_order as {{ type_string() }}) as segment_id,
        selection.pick_order,
        selection.new_churners,
        candidates.*
    from selection
    inner join candidates
        on selection.candidate_id = candidates.candidate_id
),

segment_signs as (
    select
        segment_id,
        sign_a as sign_id
    from selected
    union all
    select
        segment_id,
        sign_b
    from selected
    union all
    select
        segment_id,
        sign_c
    from selected
    where sign_c is not null
),

matched_actions as (
    select
        segment_signs.segment_id,
        actions.action,
        min(actions.action_rank) as action_rank
    from segment_signs
    inner join signs
        on segment_signs.sign_id = signs.sign_id
    inner join actions
        on signs.feature = actions.sign_feature
        and (actions.sign_value is null or signs.value_text = actions.sign_value)
    group by segment_signs.segment_id, actions.action
),

ranked_actions as (
    select
        *,
        row_number() over (partition by segment_id order by action_rank) as action_order
    from matched_actions
),

recommendations as (
    select
        segment_id,
        {{ string_agg_ordered('action', "'. Also: '", 'action_order') }} as recommendation
    from ranked_actions
    where action_order <= 2
    group by segment_id
),

prioritised as (
    select
        selected.*,
        row_number() over (order by selected.expected_balance_loss desc, selected.churners desc) as priority
    from selected
),

pattern_first_priority as (
    -- each sign pattern (a set of clients) reached by the selection, with the first priority reaching it
    select
        candidate_members.sign_pattern,
        max(candidate_members.churners) as churners,
        min(prioritised.priority) as first_priority
    from candidate_members
    inner join prioritised
        on candidate_members.candidate_id = prioritised.candidate_id
    group by candidate_members.sign_pattern
),

coverage as (
    -- churners reached by the segments of this or a higher priority, each churner once
    select
        prioritised.segment_id,
        sum(pattern_first_priority.churners) as cumulative_churners_reached
    from prioritised
    inner join pattern_first_priority
        on prioritised.priority >= pattern_first_priority.first_priority
    group by prioritised.segment_id
),

final as (
    select
        prioritised.segment_id,
        prioritised.candidate_id,
        prioritised.definition,
        cast(prioritised.n_signs as integer) as n_signs,
        prioritised.clients,
        prioritised.churners,
        prioritised.churn_rate,
        prioritised.ci_low,
        prioritised.ci_high,
        prioritised.lift,
        prioritised.churner_share,
        prioritised.new_churners,
        cast(coverage.cumulative_churners_reached as bigint) as cumulative_churners_reached,
        cast(coverage.cumulative_churners_reached as {{ type_double() }}) / overall.all_churners
            as cumulative_churner_share,
        cast(prioritised.clients - prioritised.churners as bigint) as active_clients,
        cast(prioritised.churners as bigint) as churned_clients,
        prioritised.clients < {{ var('min_sample_clients') }} as is_small_sample,
        prioritised.balance_at_risk,
        prioritised.expected_balance_loss,
        prioritised.expected_balance_loss_capped,
        cast(prioritised.priority as integer) as priority,
        (
            'expected balance loss ' || {{ format_amount('prioritised.expected_balance_loss') }}
            || ' RUB (balance of retained members ' || {{ format_amount('prioritised.balance_at_risk') }}
            || ' x churn '
            || cast(cast({{ round_to('prioritised.churn_rate * 100', 0) }} as integer) as {{ type_string() }})
            || ' %); reaches ' || cast(prioritised.churners as {{ type_string() }}) || ' churners'
        ) as priority_reason,
        coalesce(recommendations.recommendation, 'Personal contact to learn why clients with these signs leave.')
            as recommendation
    from prioritised
    cross join overall
    inner join coverage
        on prioritised.segment_id = coverage.segment_id
    left join recommendations
        on prioritised.segment_id = recommendations.segment_id
)

select * from final
