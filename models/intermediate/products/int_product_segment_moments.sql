-- Mean and variance of each profile metric per product segment (proportions for 0/1 metrics),
-- the inputs of the pairwise standardised differences in product_segment_similarity.
{%- set metrics = [
    ('age', 'cast(age as ' ~ type_double() ~ ')', 'numeric'),
    ('score', 'cast(score as ' ~ type_double() ~ ')', 'numeric'),
    ('equity', 'cast(equity as ' ~ type_double() ~ ')', 'numeric'),
    ('balance', 'balance', 'numeric'),
    ('est_salary', 'est_salary', 'numeric'),
    ('share_women', "case when gender = 'Ж' then 1.0e0 else 0.0e0 end", 'proportion'),
    ('share_active', 'case when is_active then 1.0e0 else 0.0e0 end', 'proportion'),
    ('share_credit_card', 'case when has_credit_card then 1.0e0 else 0.0e0 end', 'proportion'),
    ('churn_rate', 'case when is_churned then 1.0e0 else 0.0e0 end', 'proportion'),
] %}
with

clients as (
    select * from {{ ref('int_clients_accepted') }}
),

moments as (
    {% for name, expression, kind in metrics %}
    select
        product_segment,
        '{{ name }}' as metric,
        '{{ kind }}' as metric_kind,
        count({{ expression }}) as n,
        cast(avg({{ expression }}) as {{ type_double() }}) as mean_value,
        cast(var_samp({{ expression }}) as {{ type_double() }}) as variance
    from clients
    group by product_segment
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (
    select
        product_segment,
        metric,
        metric_kind,
        n,
        mean_value,
        case
            when metric_kind = 'proportion' then mean_value * (1 - mean_value)
            else variance
        end as variance
    from moments
)

select * from final
