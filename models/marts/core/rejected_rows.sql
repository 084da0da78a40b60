-- Quarantine: every row of the extract that breaks a hard rule, with the reasons and the
-- raw values as text. dim_clients + rejected_rows = the rows of the extract.
with

checked as (
    select * from {{ ref('int_clients__checked') }}
),

staged as (
    select * from {{ ref('stg_clients') }}
),

rejected as (
    select * from checked
    where rejection_reason is not null
),

rejected_with_raw_values as (
    select
        rejected.source_row_number,
        rejected.rejection_reason,
        rejected.duplicate_of_row_number,
        staged.user_id_raw,
        staged.score_raw,
        staged.city_raw,
        staged.gender_raw,
        staged.age_raw,
        staged.equity_raw,
        staged.balance_raw,
        staged.products_raw,
        staged.credit_card_raw,
        staged.last_activity_raw,
        staged.est_salary_raw,
        staged.churn_raw
    from rejected
    inner join staged
        on rejected.source_row_number = staged.source_row_number
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
