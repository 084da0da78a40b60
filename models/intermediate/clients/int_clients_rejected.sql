-- One row per extract row that breaks a hard rule: rejection_reason lists each broken rule
-- ("column: rule", separated by "; "). A repeated (user_id, city) keeps its first valid
-- occurrence; later ones are rejected. Only the rejected rows are stored: dim_clients takes
-- every other staging row, so the accepted rows are not written one more time.
with

clients as (
    select * from {{ ref('stg_clients') }}
),

accepted_genders as (
    select gender from {{ ref('ref_genders') }}
),

value_checks as (
    select
        clients.source_row_number,
        clients.user_id,
        clients.city,
        nullif(concat_ws(
            '; ',
            case
                when clients.has_user_id_leading_zero
                    then 'user_id: written with leading zeros (ambiguous: ids are compared as numbers)'
                else {{ check_number('user_id', 'clients.user_id', 'integer', 'user_id_min', 'user_id_max') }}
            end,
            case
                when clients.city is null then 'city: missing'
                when clients.is_city_lookalike
                    then 'city: a known city written with Latin look-alike letters (see the build summary)'
            end,
            case
                when clients.gender is null then 'gender: missing'
                when clients.is_gender_lookalike
                    then 'gender: an accepted value written with Latin look-alike letters (see the build summary)'
                when accepted_genders.gender is null then 'gender: not an accepted value (see seed ref_genders)'
            end,
            {{ check_number('score', 'clients.score', 'integer', 'score_min', 'score_max') }},
            {{ check_number('age', 'clients.age', 'integer', 'age_min', 'age_max', required=false) }},
            {{ check_number('equity', 'clients.equity', 'integer', 'equity_min', 'equity_max') }},
            {{ check_number('balance', 'clients.balance', 'number', 'balance_min', 'balance_max', required=false) }},
            {{ check_number('products', 'clients.products', 'integer', 'products_min', 'products_max') }},
            {{ check_number('credit_card', 'clients.has_credit_card', 'flag') }},
            {{ check_number('last_activity', 'clients.is_active', 'flag') }},
            {{ check_number('est_salary', 'clients.est_salary', 'number', 'est_salary_min', 'est_salary_max') }},
            {{ check_number('churn', 'clients.is_churned', 'flag') }}
        ), '') as value_reason
    from clients
    left join accepted_genders
        on clients.gender = accepted_genders.gender
),

repeated_keys as (
    -- (user_id, city) pairs held by more than one row that passes the value rules, and the first
    -- such row; found by aggregation, then joined back (no window over every row)
    select
        user_id,
        city,
        min(source_row_number) as first_row_number_of_key
    from value_checks
    where value_reason is null
    group by user_id, city
    having count(*) > 1
),

checked as (
    select
        value_checks.source_row_number,
        value_checks.value_reason,
        case
            when
                value_checks.value_reason is null
                and repeated_keys.first_row_number_of_key < value_checks.source_row_number
                then repeated_keys.first_row_number_of_key
        end as duplicate_of_row_number,
        coalesce(
            value_checks.value_reason,
            case
                when repeated_keys.first_row_number_of_key < value_checks.source_row_number
                    then 'user_id, city: repeats an earlier row (the first is kept)'
            end
        ) as rejection_reason
    from value_checks
    left join repeated_keys
        on value_checks.user_id = repeated_keys.user_id
        and value_checks.city = repeated_keys.city
),

final as (
    select
        source_row_number,
        rejection_reason,
        value_reason,
        duplicate_of_row_number
    from checked
    where rejection_reason is not null
)

select * from final
