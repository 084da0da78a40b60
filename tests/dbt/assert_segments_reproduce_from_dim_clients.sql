-- Re-apply each selected segment's rule (its signs' bounds and values) to dim_clients directly,
-- without the intermediate membership tables, and compare with churn_segment_members and the
-- segment's figures. Returns one row per segment that differs, saying how.
--
-- The rules are read when the test runs and written out as one plain predicate per segment,
-- so each segment is one scan of dim_clients (no client x sign expansion). Clients are matched
-- by source_row_number, a number: a hash join of the text client_key spills gigabytes at 100 M.
-- noqa: disable=LT02
-- (LT02 off for the Jinja header below: it renders no SQL, but on a built warehouse sqlfluff
-- checks the whitespace between its tags)
-- depends_on: {{ ref('churn_segment_candidates') }}
-- depends_on: {{ ref('int_segment_signs') }}
-- depends_on: {{ ref('dim_clients') }}
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

members as (
    select * from {{ ref('churn_segment_members') }}
),

-- dim_clients is read by each segment's branch, not through an import CTE: DuckDB materializes
-- a CTE that is read five times (millions of rows, spilled at 100 M), and a column scan is cheap.
recomputed_members as (
    {% for segment_id, conditions in rules.items() %}
    select
        '{{ segment_id }}' as segment_id,
        clients.source_row_number,
        clients.is_churned
    from {{ ref('dim_clients') }} as clients
    where {{ conditions | join('\n        and ') }}
    union all
    {% endfor %}
    select
        cast(null as {{ type_string() }}) as segment_id,
        cast(null as bigint) as source_row_number,
        cast(null as boolean) as is_churned
    from segments
    where 1 = 0
),

-- one pass over the pairs: each segment's recomputed figures and the members found on one side only
compared as (
    select
        coalesce(recomputed.segment_id, members.segment_id) as segment_id,
        count(recomputed.source_row_number) as recomputed_clients,
        sum(case when recomputed.is_churned then 1 else 0 end) as recomputed_churners,
        sum(
            case
                when recomputed.source_row_number is null or members.source_row_number is null then 1 else 0
            end
        ) as members_on_one_side
    from recomputed_members as recomputed
    full outer join members
        on recomputed.segment_id = members.segment_id
        and recomputed.source_row_number = members.source_row_number
    group by coalesce(recomputed.segment_id, members.segment_id)
),

differences as (
    select
        coalesce(segments.segment_id, compared.segment_id) as segment_id,
        case
            when segments.segment_id is null then 'members of no selected segment'
            when compared.members_on_one_side > 0 then 'members differ'
            when
                coalesce(compared.recomputed_clients, -1) <> segments.clients
                or coalesce(compared.recomputed_churners, -1) <> segments.churners
                then 'figures differ'
        end as problem,
        compared.members_on_one_side,
        compared.recomputed_clients,
        segments.clients
    from segments
    full outer join compared
        on segments.segment_id = compared.segment_id
),

final as (
    select * from differences
    where problem is not null
)

select * from final
