-- One row per row of the extract: renamed, typed, flagged. Nothing is dropped here;
-- values that do not parse become null and are turned into rejection reasons downstream
-- (the is_<column>_empty flags tell an empty value from one that does not parse). The raw texts are not
-- copied: marts.rejected_rows takes them from the raw layer for the rows it quarantines.
-- Cities and genders are normalised (zero-width characters, white space, NFC) and matched to
-- their reference seeds case-insensitively, so "ярославль" is Ярославль; a value that matches
-- only when Latin look-alike letters are read as Cyrillic is flagged (and rejected downstream).
with

source_rows as (
    select * from {{ ref('base_bank__clients') }}
),

known_cities as (
    select
        city as known_city,
        {{ category_match_key('city') }} as city_key
    from {{ ref('ref_cities') }}
),

known_genders as (
    select
        gender as known_gender,
        {{ category_match_key('gender') }} as gender_key
    from {{ ref('ref_genders') }}
),

trimmed as (
    select
        source_row_number,
        {% for name, column in extract_columns() -%}
        {% if name in ('city', 'gender') -%}
        {{ clean_category(column) }} as {{ name }}_raw,
        {%- else -%}
        {{ clean_text(column) }} as {{ name }}_raw,
        {%- endif %}
        {% endfor %}
        substr(trim(userid), 1, 1) = '0' and length(trim(userid)) > 1 as has_user_id_leading_zero
    from source_rows
),

categories as (
    select
        trimmed.*,
        coalesce(known_cities.known_city, trimmed.city_raw) as city_canonical,
        coalesce(known_genders.known_gender, trimmed.gender_raw) as gender_canonical,
        coalesce(
            {{ category_match_key('trimmed.city_raw') }} <> lower(trimmed.city_raw)
            and known_cities.known_city is not null,
            false
        ) as is_city_lookalike,
        coalesce(
            {{ category_match_key('trimmed.gender_raw') }} <> lower(trimmed.gender_raw)
            and known_genders.known_gender is not null,
            false
        ) as is_gender_lookalike
    from trimmed
    left join known_cities
        on {{ category_match_key('trimmed.city_raw') }} = known_cities.city_key
    left join known_genders
        on {{ category_match_key('trimmed.gender_raw') }} = known_genders.gender_key
),

numbers as (
    select
        *,
        {% for column in ['user_id', 'age', 'score', 'equity', 'balance', 'products', 'credit_card',
                          'last_activity', 'churn', 'est_salary'] -%}
        {{ to_double(column ~ '_raw') }} as {{ column }}_number{% if not loop.last %},{% endif %}
        {% endfor %}
    from categories
),

typed as (
    select
        *,
        {{ parse_integer('user_id_number', 'bigint', 9007199254740991) }} as user_id,
        city_canonical as city,
        gender_canonical as gender,
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
        {% for name in empty_flag_columns() -%}
        {{ name }}_raw is null as is_{{ name }}_empty,
        {% endfor -%}
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
        is_city_lookalike,
        is_gender_lookalike,
        has_user_id_leading_zero,
        {% for name in empty_flag_columns() -%}
        is_{{ name }}_empty{% if not loop.last %},{% endif %}
        {% endfor -%}
    from flagged
)

select * from final
