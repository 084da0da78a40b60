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
    select '{{ feature.name }}' as feature, cast(null as {{ type_string() }}) as value_text
    {% if feature.kind == 'flag' -%}
    union all select '{{ feature.name }}', 'yes'
    union all select '{{ feature.name }}', 'no'
    {% endif -%}
    union all
    {% endfor -%}
    select 'product_segment', cast(null as {{ type_string() }})
    {% for products in range(var('products_top_segment')) -%}
    union all select 'product_segment', '{{ products }}'
    {% endfor -%}
    union all select 'product_segment', '{{ var("products_top_segment") }}+'
    union all select 'city', city from cities
    union all select 'gender', gender from genders
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
    where actions.sign_feature <> 'any'
        and domain.feature is null
),

final as (
    select * from defaults
    union all
    select * from unknown
)

select * from final
