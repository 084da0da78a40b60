-- Quarantine: every row of the extract that breaks a hard rule, with the reasons and the
-- raw values as text. dim_clients + rejected_rows = the rows of the extract.
with

checked as (
    select * from {{ ref('int_clients__checked') }}
),

rejected as (
    select * from checked
    where rejection_reason is not null
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
    from rejected
)

select * from final
