{{ config(materialized='view') }}
-- depends_on: {{ ref('bank_scrooge') }}
-- (the seed is read through source(); this line only orders the DAG so that a plain
-- `dbt build` loads the seed before this view. With METANPROM_EXTRACT the build excludes the
-- seed and the Python loader fills the same source table.)

-- The raw extract exactly as loaded (all text), numbered in file order. Kept apart from
-- stg_clients so that the parsing logic can be unit-tested on hand-made rows.
with

numbered as (
    select
        {{ source_row_number() }} as source_row_number,
        userid,
        score,
        city,
        gender,
        age,
        equity,
        balance,
        products,
        credit_card,
        last_activity,
        est_salary,
        churn
    from {{ source('bank', 'clients') }}
),

final as (
    select * from numbered
)

select * from final
