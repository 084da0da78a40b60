-- Reconciliation: every row of the extract is either an accepted client or a rejected row,
-- never both, never neither. Returns the source rows that break this.
with

extract_rows as (
    select source_row_number from {{ ref('stg_clients') }}
),

accepted as (
    select source_row_number from {{ ref('dim_clients') }}
),

rejected as (
    select source_row_number from {{ ref('rejected_rows') }}
),

outcomes as (
    select
        extract_rows.source_row_number,
        (
            case when accepted.source_row_number is not null then 1 else 0 end
            + case when rejected.source_row_number is not null then 1 else 0 end
        ) as outcome_count
    from extract_rows
    left join accepted
        on extract_rows.source_row_number = accepted.source_row_number
    left join rejected
        on extract_rows.source_row_number = rejected.source_row_number
),

orphans as (
    select
        accepted.source_row_number,
        -1 as outcome_count
    from accepted
    left join extract_rows
        on accepted.source_row_number = extract_rows.source_row_number
    where extract_rows.source_row_number is null
),

final as (
    select * from outcomes
    where outcome_count <> 1
    union all
    select * from orphans
)

select * from final
