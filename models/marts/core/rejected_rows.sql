-- Quarantine: every row of the extract that breaks a hard rule, with the reasons and the
-- raw values as text (trimmed, null when empty; "NA" stays "NA"), taken from the raw layer for these rows only.
-- dim_clients + rejected_rows = the rows of the extract.
with

rejections as (
    select * from {{ ref('int_clients_rejected') }}
),

raw_rows as (
    select * from {{ ref('base_bank__clients') }}
),

rejected_with_raw_values as (
    select
        rejections.source_row_number,
        rejections.rejection_reason,
        rejections.duplicate_of_row_number,
        {% for name, column in extract_columns() -%}
        nullif(trim(raw_rows.{{ column }}), '') as {{ name }}_raw{% if not loop.last %},{% endif %}
        {% endfor %}
    from rejections
    inner join raw_rows
        on rejections.source_row_number = raw_rows.source_row_number
),

final as (
    select
        source_row_number,
        rejection_reason as reason,
        duplicate_of_row_number,
        {% for name, _ in extract_columns() -%}
        {{ name }}_raw{% if not loop.last %},{% endif %}
        {% endfor %}
    from rejected_with_raw_values
)

select * from final
