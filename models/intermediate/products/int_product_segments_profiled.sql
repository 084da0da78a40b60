-- Product segments (0, 1, 2, 3, 4+ products) with churn figures and a profile.
with

clients as (
    select * from {{ ref('int_clients_accepted') }}
),

overall as (
    select * from {{ ref('int_overall_churn') }}
),

product_signals as (
    -- the churn signs on the number of products (an interval, e.g. products 3–5)
    select * from {{ ref('int_signals_merged') }}
    where feature = 'products'
),

profile_values as (
    -- the profiled numbers, one row per client and number (null when unknown)
    {% for column in ['age', 'score', 'balance', 'est_salary'] %}
    select
        product_segment,
        '{{ column }}' as metric,
        cast({{ column }} as {{ type_double() }}) as metric_value
    from clients
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

medians as (
    -- percentile_cont(0.5) from value counts (macros/order_statistics.sql: spills, unlike an ordered-set aggregate)
    select
        {% for column in ['age', 'score', 'balance', 'est_salary'] %}
        max(case when metric = '{{ column }}' then median_value end) as median_{{ column }},
        {% endfor %}
        product_segment
    from (
        select
            product_segment,
            metric,
            {{ median_from_ranks() }} as median_value
        from ({{ value_ranks('profile_values', ['product_segment', 'metric'], 'metric_value') }}) as ranked_values
        group by product_segment, metric
    ) as metric_medians
    group by product_segment
),

segments as (
    select
        product_segment,
        min(products) as min_products,
        max(products) as max_products,
        count(*) as clients,
        sum(case when is_churned then 1 else 0 end) as churners,
        avg(case when gender = 'Ж' then 1.0e0 else 0.0e0 end) as share_women,
        avg(case when is_active then 1.0e0 else 0.0e0 end) as share_active,
        avg(case when has_credit_card then 1.0e0 else 0.0e0 end) as share_credit_card,
        avg(case when is_balance_missing then 1.0e0 else 0.0e0 end) as share_balance_missing,
        avg(cast(equity as {{ type_double() }})) as mean_equity,
        coalesce(sum(balance), 0) as balance_total,
        coalesce(sum(case when is_churned then balance end), 0) as churned_balance_total
    from clients
    group by product_segment
),

with_figures as (
    select
        segments.*,
        medians.median_age,
        medians.median_score,
        medians.median_balance,
        medians.median_est_salary,
        overall.overall_churn_rate,
        {{ churn_figures() }}
    from segments
    left join medians
        on segments.product_segment = medians.product_segment
    cross join overall
),

final as (
    select
        product_segment,
        cast(min_products as integer) as segment_order,
        cast(min_products as integer) as min_products,
        cast(max_products as integer) as max_products,
        cast(clients as bigint) as clients,
        cast(churners as bigint) as churners,
        churn_rate,
        ci_low,
        ci_high,
        lift,
        clients < {{ var('min_sample_clients') }} as is_small_sample,
        (
            clients >= {{ var('min_sample_clients') }}
            and exists (
                select 1
                from product_signals
                where
                    product_signals.lower_bound <= with_figures.min_products
                    and (
                        product_signals.upper_bound is null
                        or with_figures.max_products < product_signals.upper_bound
                    )
            )
        ) as is_churn_prone,
        cast(median_age as {{ type_double() }}) as median_age,
        cast(median_score as {{ type_double() }}) as median_score,
        cast(median_balance as {{ type_double() }}) as median_balance,
        cast(median_est_salary as {{ type_double() }}) as median_est_salary,
        cast(share_women as {{ type_double() }}) as share_women,
        cast(share_active as {{ type_double() }}) as share_active,
        cast(share_credit_card as {{ type_double() }}) as share_credit_card,
        cast(share_balance_missing as {{ type_double() }}) as share_balance_missing,
        cast(1 - share_balance_missing as {{ type_double() }}) as balance_known_share,
        cast(mean_equity as {{ type_double() }}) as mean_equity,
        cast(balance_total as {{ type_double() }}) as balance_total,
        cast(churned_balance_total as {{ type_double() }}) as churned_balance_total
    from with_figures
)

select * from final
