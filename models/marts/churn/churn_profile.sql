-- Portrait of churned vs retained clients ("портрет отточного клиента"): for every numeric
-- feature the means and medians, for every 0/1 feature the shares, with the absolute
-- (churned - retained) and relative ((churned - retained) / retained) differences.
-- Statistics of age and balance use the known values only.
{%- set features = [
    ('age', 'cast(age as ' ~ type_double() ~ ')', 'numeric'),
    ('score', 'cast(score as ' ~ type_double() ~ ')', 'numeric'),
    ('equity', 'cast(equity as ' ~ type_double() ~ ')', 'numeric'),
    ('balance', 'balance', 'numeric'),
    ('products', 'cast(products as ' ~ type_double() ~ ')', 'numeric'),
    ('est_salary', 'est_salary', 'numeric'),
    ('is_woman', "case when gender = 'Ж' then 1.0e0 else 0.0e0 end", 'boolean'),
    ('has_credit_card', 'case when has_credit_card then 1.0e0 else 0.0e0 end', 'boolean'),
    ('is_active', 'case when is_active then 1.0e0 else 0.0e0 end', 'boolean'),
    ('is_balance_missing', 'case when is_balance_missing then 1.0e0 else 0.0e0 end', 'boolean'),
    ('is_age_missing', 'case when is_age_missing then 1.0e0 else 0.0e0 end', 'boolean'),
] %}
with

clients as (
    select * from {{ ref('dim_clients') }}
),

by_group as (
    {% for name, expression, kind in features %}
    select
        '{{ name }}' as feature,
        {{ loop.index }} as feature_order,
        '{{ kind }}' as feature_type,
        is_churned,
        count({{ expression }}) as clients,
        cast(avg({{ expression }}) as {{ type_double() }}) as mean_value
    from clients
    group by is_churned
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

numeric_values as (
    -- the numeric features, one row per client and feature (null when unknown)
    {% for name, expression, kind in features if kind == 'numeric' %}
    select
        '{{ name }}' as feature,
        is_churned,
        {{ expression }} as feature_value
    from clients
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

medians as (
    -- percentile_cont(0.5) from value counts (macros/order_statistics.sql: spills, unlike an ordered-set aggregate)
    select
        feature,
        is_churned,
        cast({{ median_from_ranks() }} as {{ type_double() }}) as median_value
    from ({{ value_ranks('numeric_values', ['feature', 'is_churned'], 'feature_value') }}) as ranked_values
    group by feature, is_churned
),

with_medians as (
    select
        by_group.*,
        medians.median_value
    from by_group
    left join medians
        on by_group.feature = medians.feature and by_group.is_churned = medians.is_churned
),

pivoted as (
    select
        feature,
        feature_order,
        feature_type,
        sum(case when is_churned then clients else 0 end) as churned_clients,
        sum(case when not is_churned then clients else 0 end) as retained_clients,
        max(case when is_churned then mean_value end) as churned_mean,
        max(case when not is_churned then mean_value end) as retained_mean,
        max(case when is_churned then median_value end) as churned_median,
        max(case when not is_churned then median_value end) as retained_median
    from with_medians
    group by feature, feature_order, feature_type
),

final as (
    select
        feature,
        cast(feature_order as integer) as feature_order,
        feature_type,
        cast(churned_clients as bigint) as churned_clients,
        cast(retained_clients as bigint) as retained_clients,
        churned_mean,
        retained_mean,
        churned_mean - retained_mean as mean_diff,
        (churned_mean - retained_mean) / nullif(retained_mean, 0) as mean_rel_diff,
        churned_median,
        retained_median,
        churned_median - retained_median as median_diff,
        (churned_median - retained_median) / nullif(retained_median, 0) as median_rel_diff
    from pivoted
)

select * from final
