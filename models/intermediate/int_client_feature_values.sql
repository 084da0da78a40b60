-- Every client's value of each of the ten churn features, in long form: one row per
-- (client, feature). value_number orders ordinal/continuous values; value_text names
-- categories. A missing value has both null (it becomes the bucket 'missing').
with

clients as (
    select * from {{ ref('dim_clients') }}
),

{% for feature in churn_features() %}
{{ feature.name }}_values as (
    select
        client_key,
        '{{ feature.name }}' as feature,
        '{{ feature.kind }}' as feature_kind,
        {{ loop.index }} as feature_order,
        {% if feature.kind == 'nominal' -%}
        cast(null as {{ type_double() }}) as value_number,
        {{ feature.column }} as value_text,
        {%- elif feature.kind == 'flag' -%}
        case when {{ feature.column }} then 1.0 else 0.0 end as value_number,
        case when {{ feature.column }} then 'yes' else 'no' end as value_text,
        {%- elif feature.kind == 'ordinal' -%}
        cast({{ feature.column }} as {{ type_double() }}) as value_number,
        cast({{ feature.column }} as varchar) as value_text,
        {%- else -%}
        cast({{ feature.column }} as {{ type_double() }}) as value_number,
        cast(null as varchar) as value_text,
        {%- endif %}
        is_churned,
        balance,
        est_salary
    from clients
),

{% endfor %}
unioned as (
    {% for feature in churn_features() %}
    select * from {{ feature.name }}_values
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (
    select * from unioned
)

select * from final
