{{ config(materialized='view') }}

-- Every client's value of each of the ten churn features, one row per client (wide, so the
-- feature breakdowns scan narrow columns instead of a 10-rows-per-client table).
-- <feature>_number orders ordinal/continuous values (flags as 1/0); <feature>_text names
-- categories. A missing value has both null (it becomes the bucket 'missing').
with

clients as (
    select * from {{ ref('int_clients_accepted') }}
),

final as (
    select
        client_key,
        source_row_number,
        is_churned,
        balance,
        est_salary,
        city,
        gender,
        product_segment,
        {% for feature in churn_features() -%}
        {% if feature.kind == 'nominal' -%}
        cast(null as {{ type_double() }}) as {{ feature.name }}_number,
        cast({{ feature.column }} as {{ type_string() }}) as {{ feature.name }}_text
        {%- elif feature.kind == 'flag' -%}
        case when {{ feature.column }} then 1.0e0 else 0.0e0 end as {{ feature.name }}_number,
        case when {{ feature.column }} then 'yes' else 'no' end as {{ feature.name }}_text
        {%- elif feature.kind == 'ordinal' -%}
        cast({{ feature.column }} as {{ type_double() }}) as {{ feature.name }}_number,
        cast({{ feature.column }} as {{ type_string() }}) as {{ feature.name }}_text
        {%- else -%}
        cast({{ feature.column }} as {{ type_double() }}) as {{ feature.name }}_number,
        cast(null as {{ type_string() }}) as {{ feature.name }}_text
        {%- endif %}{% if not loop.last %},{% endif %}
        {% endfor %}
    from clients
)

select * from final
