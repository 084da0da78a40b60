-- Which signs each client has: one row per (client, sign), with the client's churn flag and
-- balance so candidates can be evaluated without joining back to dim_clients.
with

signs as (
    select * from {{ ref('int_segment_signs') }}
),

feature_values as (
    select * from {{ ref('int_client_feature_values') }}
),

clients as (
    select * from {{ ref('dim_clients') }}
),

feature_matches as (
    select
        feature_values.client_key,
        signs.sign_id,
        signs.sign_family
    from signs
    inner join feature_values
        on signs.feature = feature_values.feature
    where
        case
            when signs.value_text = 'missing'
                then feature_values.value_number is null and feature_values.value_text is null
            when signs.feature_kind in ('nominal', 'flag')
                then feature_values.value_text = signs.value_text
            else feature_values.value_number is not null
                and (signs.lower_bound is null or feature_values.value_number >= signs.lower_bound)
                and (signs.upper_bound is null or feature_values.value_number < signs.upper_bound)
        end
),

segment_matches as (
    select
        clients.client_key,
        signs.sign_id,
        signs.sign_family
    from signs
    inner join clients
        on signs.feature = 'product_segment'
        and clients.product_segment = signs.value_text
),

matches as (
    select * from feature_matches
    union all
    select * from segment_matches
),

final as (
    select
        matches.client_key,
        matches.sign_id,
        matches.sign_family,
        clients.is_churned,
        clients.balance
    from matches
    inner join clients
        on matches.client_key = clients.client_key
)

select * from final
