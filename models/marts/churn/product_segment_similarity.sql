-- How similar the product segments are ("степень сходства категорий"): for every pair of
-- segments and profile metric, the standardised mean difference
--   SMD = (mean_a - mean_b) / sqrt((var_a + var_b) / 2)
-- (for shares, var = p (1 - p)). |SMD| < 0.2 is usually read as small, > 0.8 as large.
-- mean_abs_smd summarises a pair over all metrics. A segment with fewer than var
-- min_sample_clients clients (segment 0: one client) is left out: its means are noise.
with

all_moments as (
    select * from {{ ref('int_product_segment_moments') }}
),

segments as (
    select * from {{ ref('product_segments') }}
),

moments as (
    select all_moments.*
    from all_moments
    inner join segments
        on all_moments.product_segment = segments.product_segment
    where not segments.is_small_sample
),

pairs as (
    select
        segment_a.product_segment as segment_a,
        segment_b.product_segment as segment_b,
        segment_a.metric,
        segment_a.mean_value as value_a,
        segment_b.mean_value as value_b,
        (
            (segment_a.mean_value - segment_b.mean_value)
            / nullif(sqrt((segment_a.variance + segment_b.variance) / 2), 0)
        ) as smd
    from moments as segment_a
    inner join moments as segment_b
        on segment_a.metric = segment_b.metric
        and segment_a.product_segment < segment_b.product_segment
),

final as (
    select
        segment_a,
        segment_b,
        metric,
        value_a,
        value_b,
        smd,
        avg(abs(smd)) over (partition by segment_a, segment_b) as mean_abs_smd
    from pairs
)

select * from final
