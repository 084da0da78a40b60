-- One row per row of the extract: renamed, typed, flagged. Nothing is dropped here;
-- values that do not parse become null and are turned into rejection reasons downstream
-- (empty_columns tells an empty value from one that does not parse). The raw texts are not
-- copied: marts.rejected_rows takes them from the raw layer for the rows it quarantines.
with

source_rows as (
    select * from {{ ref('base_bank__clients') }}
),

trimmed as (
    select
        source_row_number,
        {% for name, column in extract_columns() -%}
        {{ clean_text(column) }} as {{ name }}_raw{{ ',' if not loop.last }}
        {% endfor %}
    from source_rows
),

numbers as (
    select
        *,
        {% for column in ['user_id', 'age', 'score', 'equity', 'balance', 'products', 'credit_card',
                          'last_activity', 'churn', 'est_salary'] -%}
        {{ to_double(column ~ '_raw') }} as {{ column }}_number{{ ',' if not loop.last }}
        {% endfor %}
    from trimmed
),

typed as (
    select
        *,
        {{ parse_integer('user_id_number', 'bigint', 9007199254740991) }} as user_id,
        city_raw as city,
        gender_raw as gender,
        {{ parse_integer('age_number') }} as age,
        {{ parse_integer('score_number') }} as score,
        {{ parse_integer('equity_number') }} as equity,
        {{ parse_double('balance_number') }} as balance,
        {{ parse_integer('products_number') }} as products,
        {{ parse_flag('credit_card_number') }} as has_credit_card,
        {{ parse_flag('last_activity_number') }} as is_active,
        {{ parse_flag('churn_number') }} as is_churned,
        {{ parse_double('est_salary_number') }} as est_salary
    from numbers
),

flagged as (
    select
        *,
        age_raw is null as is_age_missing,
        balance_raw is null as is_balance_missing,
        nullif(concat_ws(', ',
            {% for name, _ in extract_columns() -%}
            case when {{ name }}_raw is null then '{{ name }}' end{{ ',' if not loop.last }}
            {% endfor -%}
        ), '') as empty_columns,
        coalesce(count(user_id) over (partition by user_id) > 1, false) as is_duplicate_user_id
    from typed
),

final as (
    select
        source_row_number,
        user_id,
        city,
        gender,
        age,
        score,
        equity,
        balance,
        products,
        has_credit_card,
        is_active,
        is_churned,
        est_salary,
        is_age_missing,
        is_balance_missing,
        is_duplicate_user_id,
        empty_columns
    from flagged
)

select * from final
