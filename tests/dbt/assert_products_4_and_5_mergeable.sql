-- 4 and 5 products may share the segment "4+" only while their churn rates are not
-- significantly different (|z| below var wilson_z, the same 95 % level). Fails otherwise.
with

comparison as (
    {{ products_4_vs_5_comparison() }}
),

final as (
    select * from comparison
    where clients_5 > 0
        and abs(z_statistic) >= {{ var('wilson_z') }}
)

select * from final
