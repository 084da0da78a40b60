-- Re-apply each selected segment's rule (its signs' bounds and values) to dim_clients directly,
-- without the intermediate membership tables, and compare with churn_segment_members and the
-- segment's figures. Returns every difference.
--
-- The rules are read when the test runs and written out as one plain predicate per segment,
-- so each segment is one scan of dim_clients (no client x sign expansion).
-- noqa: disable=LT02
-- (LT02 off for the Jinja header below: it renders no SQL, but on a built warehouse sqlfluff
-- checks the whitespace between its tags)
-- depends_on: {{ ref('churn_segment_candidates') }}
-- depends_on: {{ ref('int_segment_signs') }}
{%- set client_columns = {
    'city': 'city',
    'gender': 'gender',
    'product_segment': 'product_segment',
    'credit_card': "case when has_credit_card then 'yes' else 'no' end",
    'last_activity': "case when is_active then 'yes' else 'no' end",
    'age': 'age',
    'score': 'score',
    'equity': 'equity',
    'balance': 'balance',
    'products': 'products',
    'est_salary': 'est_salary',
} %}
{%- set rules = {} %}
{#- `dbt compile` on an empty database: the rule tables do not exist yet, so no query runs -#}
{%- if execute
    and load_relation(ref('churn_segments')) is not none
    and load_relation(ref('int_segment_signs')) is not none %}
    {%- set rule_query %}
        select
            segments.segment_id,
            signs.feature,
            signs.value_text,
            signs.lower_bound,
            signs.upper_bound
        from {{ ref('churn_segments') }} as segments
        inner join {{ ref('churn_segment_candidates') }} as candidates
            on segments.candidate_id = candidates.candidate_id
        inner join {{ ref('int_segment_signs') }} as signs
            on signs.sign_id in (candidates.sign_a, candidates.sign_b, candidates.sign_c)
        order by segments.segment_id, signs.feature
    {%- endset %}
    {%- for row in run_query(rule_query).rows %}
        {%- set column = client_columns[row[1]] %}
        {%- if row[2] == 'missing' %}
            {%- set condition = column ~ ' is null' %}
        {%- elif row[2] is not none %}
            {%- set condition = column ~ " = '" ~ (row[2] | replace("'", "''")) ~ "'" %}
        {%- else %}
            {%- set bounds = [] %}
            {%- if row[3] is not none %}
                {%- do bounds.append(column ~ ' >= cast(' ~ row[3] ~ ' as ' ~ type_double() ~ ')') %}
            {%- endif %}
            {%- if row[4] is not none %}
                {%- do bounds.append(column ~ ' < cast(' ~ row[4] ~ ' as ' ~ type_double() ~ ')') %}
            {%- endif %}
            {%- set condition = bounds | join(' and ') %}
        {%- endif %}
        {%- do rules.setdefault(row[0], []).append('(' ~ condition ~ ')') %}
    {%- endfor %}
{%- endif %}
-- noqa: enable=LT02
with

segments as (
    select * from {{ ref('churn_segments') }}
),

clients as (
    select * from {{ ref('dim_clients') }}
),

members as (
    select * from {{ ref('churn_segment_members') }}
),

recomputed_members as (
    {% for segment_id, conditions in rules.items() %}
    select
        '{{ segment_id }}' as segment_id,
        client_key,
        is_churned
    from clients
    where {{ conditions | join('\n        and ') }}
    union all
    {% endfor %}
    select
        cast(null as {{ type_string() }}) as segment_id,
        cast(null as {{ type_string() }}) as client_key,
        cast(null as boolean) as is_churned
    from clients
    where 1 = 0
),

member_differences as (
    select
        coalesce(recomputed.segment_id, members.segment_id) as segment_id,
        'member differs' as problem
    from recomputed_members as recomputed
    full outer join members
        on recomputed.segment_id = members.segment_id
        and recomputed.client_key = members.client_key
    where recomputed.client_key is null or members.client_key is null
),

recomputed_figures as (
    select
        segment_id,
        count(*) as clients,
        sum(case when is_churned then 1 else 0 end) as churners
    from recomputed_members
    group by segment_id
),

figure_differences as (
    select
        segments.segment_id,
        'figures differ' as problem
    from segments
    left join recomputed_figures as recomputed
        on segments.segment_id = recomputed.segment_id
    where
        coalesce(recomputed.clients, -1) <> segments.clients
        or coalesce(recomputed.churners, -1) <> segments.churners
),

final as (
    select * from member_differences
    union all
    select * from figure_differences
)

select * from final
