-- 4 and 5 products may share the segment "4+" only while their churn rates are not
-- significantly different (|z| below var wilson_z, the same 95 % level). A warning, not an
-- error: the merge is the bank's segmentation choice; a new extract where the two differ is
-- reported in the build summary so the analysts can revisit it (var products_top_segment).
{{ config(severity='warn') }}
with

comparison as (
    {{ products_4_vs_5_comparison() }}
),

final as (
    select * from comparison
    where
        clients_5 > 0
        and abs(z_statistic) >= {{ var('wilson_z') }}
)

select * from final
