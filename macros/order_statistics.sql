{#- Exact order statistics (medians, quantiles) that scale past memory.

    Ordered-set aggregates (percentile_cont, quantile_disc) hold every value of a group in memory:
    at 100 M clients the medians and bins of a few columns need more than DuckDB's memory and the
    build fails. Here each group's distinct values are counted (a grouped count) and ranked by a
    running sum (a window): both spill to disk, and a column with few distinct values (age, score,
    products) shrinks to a few hundred rows. The results equal the ordered-set aggregates'.

    value_ranks(relation, group_by, value): one row per group and distinct non-null value, with the
    value as `ranked_value`, `cumulative_count` (the group's values up to and including it) and
    `group_count` (the group's non-null values). Then, aggregated per group:
    - median_from_ranks(): percentile_cont(0.5), the average of the two middle values;
    - quantile_from_ranks(k, n): percentile_disc(k / n), the first value whose position reaches k / n
      of the group, compared in whole numbers (no rounding of k / n). -#}
{% macro value_ranks(relation, group_by, value) -%}
    select
        {% for column in group_by %}{{ column }},
        {% endfor -%}
        ranked_value,
        sum(value_count) over (
            partition by {{ group_by | join(', ') }}
            order by ranked_value
            rows between unbounded preceding and current row
        ) as cumulative_count,
        sum(value_count) over (partition by {{ group_by | join(', ') }}) as group_count
    from (
        select
            {% for column in group_by %}{{ column }},
            {% endfor -%}
            {{ value }} as ranked_value,
            count(*) as value_count
        from {{ relation }}
        where {{ value }} is not null
        group by {% for column in group_by %}{{ column }}, {% endfor %}{{ value }}
    ) as value_counts
{%- endmacro %}

{% macro median_from_ranks() -%}
    (
        min(case when 2 * cumulative_count >= group_count then ranked_value end)
        + min(case when 2 * cumulative_count > group_count then ranked_value end)
    ) / 2
{%- endmacro %}

{% macro quantile_from_ranks(k, n) -%}
    min(case when cumulative_count * {{ n }} >= {{ k }} * group_count then ranked_value end)
{%- endmacro %}
