-- churn_by_feature covers the ten features of the contract.
with

expected as (
    {% for feature in churn_features() %}
    select '{{ feature.name }}' as feature
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

present as (
    select distinct feature from {{ ref('churn_by_feature') }}
),

final as (
    select expected.feature
    from expected
    left join present
        on expected.feature = present.feature
    where present.feature is null
)

select * from final
