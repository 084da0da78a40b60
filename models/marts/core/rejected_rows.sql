-- Quarantine: every row of the extract that breaks a hard rule, with the reasons and the
-- raw values as text (trimmed, null when empty), taken from the raw layer for these rows only.
-- dim_clients + rejected_rows = the rows of the extract.
with

rejections as (
    select * from {{ ref('int_clients__rejections') }}
),

raw_rows as (
    select * from {{ ref('base_bank__clients') }}
),

rejected_with_raw_values as (
    select
        rejections.source_row_number,
        rejections.rejection_reason,
        rejections.duplicate_of_row_number,
        {{ clean_text('raw_rows.userid') }} as user_id_raw,
        {{ clean_text('raw_rows.score') }} as score_raw,
        {{ clean_text('raw_rows.city') }} as city_raw,
        {{ clean_text('raw_rows.gender') }} as gender_raw,
        {{ clean_text('raw_rows.age') }} as age_raw,
        {{ clean_text('raw_rows.equity') }} as equity_raw,
        {{ clean_text('raw_rows.balance') }} as balance_raw,
        {{ clean_text('raw_rows.products') }} as products_raw,
        {{ clean_text('raw_rows.credit_card') }} as credit_card_raw,
        {{ clean_text('raw_rows.last_activity') }} as last_activity_raw,
        {{ clean_text('raw_rows.est_salary') }} as est_salary_raw,
        {{ clean_text('raw_rows.churn') }} as churn_raw
    from rejections
    inner join raw_rows
        on rejections.source_row_number = raw_rows.source_row_number
),

final as (
    select
        source_row_number,
        rejection_reason as reason,
        duplicate_of_row_number,
        user_id_raw,
        score_raw,
        city_raw,
        gender_raw,
        age_raw,
        equity_raw,
        balance_raw,
        products_raw,
        credit_card_raw,
        last_activity_raw,
        est_salary_raw,
        churn_raw
    from rejected_with_raw_values
)

select * from final
