-- Distinct sign patterns with their clients, churners and balances, one row per
-- (pattern, sign) for the candidate joins. sign_family: the feature; the product segment's
-- signs share the family 'products' with the products signals (never combined together).
with

client_patterns as (
    select * from {{ ref('int_client_sign_patterns') }}
),

patterns as (
    select
        sign_pattern,
        {% for feature in churn_features() -%}
        sign_{{ feature.name }},
        {% endfor -%}
        sign_product_segment,
        count(*) as clients,
        sum(case when is_churned then 1 else 0 end) as churners,
        coalesce(sum(case when not is_churned then balance end), 0) as retained_balance,
        coalesce(sum(case when is_churned then balance end), 0) as churned_balance,
        -- balances capped at var balance_outlier_threshold: one very rich client cannot move a priority
        coalesce(
            sum(
                case
                    when not is_churned and balance is not null
                        then least(balance, {{ var('balance_outlier_threshold') }})
                end
            ),
            0
        ) as retained_balance_capped
    from client_patterns
    group by
        sign_pattern,
        {% for feature in churn_features() -%}
        sign_{{ feature.name }},
        {% endfor -%}
        sign_product_segment
),

pattern_signs as (
    {% for feature in churn_features() %}
    select
        sign_pattern,
        sign_{{ feature.name }} as sign_id,
        '{{ feature.name }}' as sign_family,
        clients,
        churners,
        retained_balance,
        churned_balance,
        retained_balance_capped
    from patterns
    where sign_{{ feature.name }} is not null
    union all
    {% endfor %}
    select
        sign_pattern,
        sign_product_segment as sign_id,
        'products' as sign_family,
        clients,
        churners,
        retained_balance,
        churned_balance,
        retained_balance_capped
    from patterns
    where sign_product_segment is not null
),

final as (
    select * from pattern_signs
)

select * from final
