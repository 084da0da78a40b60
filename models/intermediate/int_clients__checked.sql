-- Every staging row with the hard rules applied: rejection_reason lists each broken rule
-- ("column: rule", separated by "; "), null when the row is accepted.
-- A repeated (user_id, city) keeps its first valid occurrence; later ones are rejected.
-- The raw texts stay in stg_clients (rejected_rows takes them from there): carrying twelve text
-- columns of every row through one more table costs more than the rules themselves at scale.
with

clients as (
    select * from {{ ref('stg_clients') }}
),

accepted_genders as (
    select gender from {{ ref('ref_genders') }}
),

known_cities as (
    select city from {{ ref('ref_cities') }}
),

value_checks as (
    select
        clients.*,
        known_cities.city is not null as is_known_city,
        nullif(concat_ws('; ',
            {{ check_number('user_id', 'user_id_raw', 'user_id', 'integer') }},
            case when clients.city_raw is null then 'city: missing' end,
            case
                when clients.gender_raw is null then 'gender: missing'
                when accepted_genders.gender is null then 'gender: not an accepted value (see seed ref_genders)'
            end,
            {{ check_number('score', 'score_raw', 'score', 'integer', 'score_min', 'score_max') }},
            {{ check_number('age', 'age_raw', 'age', 'integer', 'age_min', 'age_max', required=false) }},
            {{ check_number('equity', 'equity_raw', 'equity', 'integer', 'equity_min', 'equity_max') }},
            {{ check_number('balance', 'balance_raw', 'balance', 'number', 'balance_min', 'balance_max', required=false) }},
            {{ check_number('products', 'products_raw', 'products', 'integer', 'products_min', 'products_max') }},
            {{ check_number('credit_card', 'credit_card_raw', 'has_credit_card', 'flag') }},
            {{ check_number('last_activity', 'last_activity_raw', 'is_active', 'flag') }},
            {{ check_number('est_salary', 'est_salary_raw', 'est_salary', 'number', 'est_salary_min', 'est_salary_max') }},
            {{ check_number('churn', 'churn_raw', 'is_churned', 'flag') }}
        ), '') as value_reason
    from clients
    left join accepted_genders
        on clients.gender = accepted_genders.gender
    left join known_cities
        on clients.city = known_cities.city
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

final as (
    select
        value_checks.source_row_number,
        value_checks.user_id,
        value_checks.city,
        value_checks.gender,
        value_checks.age,
        value_checks.score,
        value_checks.equity,
        value_checks.balance,
        value_checks.products,
        value_checks.has_credit_card,
        value_checks.is_active,
        value_checks.is_churned,
        value_checks.est_salary,
        value_checks.is_age_missing,
        value_checks.is_balance_missing,
        value_checks.is_duplicate_user_id,
        value_checks.is_known_city,
        value_checks.value_reason,
        repeated_keys.first_row_number_of_key,
        case
            when value_checks.value_reason is null
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
)

select * from final
