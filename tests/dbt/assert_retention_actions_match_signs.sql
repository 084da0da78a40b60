-- Seed retention_actions: exactly one default row (sign_feature 'any'), and every other row
-- names a feature a sign can have (macro churn_features, or product_segment) and, when given,
-- a value of that feature's domain (seeds ref_cities / ref_genders, yes/no for flags, the
-- product segments of var products_top_segment). A misspelt feature or value ("Ростов ",
-- "product_segments") would otherwise silently never match a segment.
with

actions as (
    select * from {{ ref('retention_actions') }}
),

cities as (
    select * from {{ ref('ref_cities') }}
),

genders as (
    select * from {{ ref('ref_genders') }}
),

domain as (
    {% for feature in churn_features() -%}
    select
        '{{ feature.name }}' as feature,
        cast(null as {{ type_string() }}) as value_text
    {% if feature.kind == 'flag' -%}
    union all
    select
        '{{ feature.name }}' as feature,
        'yes' as value_text
    union all
    select
        '{{ feature.name }}' as feature,
        'no' as value_text
    {% endif -%}
    union all
    {% endfor -%}
    select
        'product_segment' as feature,
        cast(null as {{ type_string() }}) as value_text
    {% for products in range(var('products_top_segment')) -%}
    union all
    select
        'product_segment' as feature,
        '{{ products }}' as value_text
    {% endfor -%}
    union all
    select
        'product_segment' as feature,
        '{{ var("products_top_segment") }}+' as value_text
    union all
    select
        'city' as feature,
        city as value_text
    from cities
    union all
    select
        'gender' as feature,
        gender as value_text
    from genders
),

defaults as (
    select
        'default action rows' as problem,
        cast(count(*) as {{ type_string() }}) as detail
    from actions
    where sign_feature = 'any'
    having count(*) <> 1
),

unknown as (
    select
        'not a feature or value a sign can have' as problem,
        actions.sign_feature || ' = ' || coalesce(actions.sign_value, '(any value)') as detail
    from actions
    left join domain
        on actions.sign_feature = domain.feature
        and coalesce(actions.sign_value, '') = coalesce(domain.value_text, '')
    where
        actions.sign_feature <> 'any'
        and domain.feature is null
),

final as (
    select * from defaults
    union all
    select * from unknown
)

select * from final
