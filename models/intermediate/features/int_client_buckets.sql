-- Every client's bucket of each feature, one row per client: <feature>_bucket is the
-- bucket_order of int_feature_bucket_catalog (var missing_bucket_order when the value is missing).
-- Continuous features: the bins' lower bounds are pivoted into one row, and a value's bin is
-- 1 + the number of lower bounds at or below it (bin k is [lower_k, lower_k+1)); no range join.
{%- set n_bins = var('quantile_bins') %}
with

client_features as (
    select * from {{ ref('int_client_features') }}
),

bins as (
    select * from {{ ref('int_feature_bins') }}
),

catalog as (
    select * from {{ ref('int_feature_bucket_catalog') }}
),

lower_bounds as (
    -- one row: the lower bound of bins 2 .. n of each continuous feature (null when a feature has fewer bins)
    select
        -- noqa: disable=LT02
        -- (LT02 off in this generated list: sqlfluff misplaces indents in a Jinja loop whose last item has no comma)
        {% for feature in churn_features() if feature.kind == 'continuous' -%}
        {% set outer_loop = loop -%}
        {% for k in range(2, n_bins + 1) -%}
        max(case when feature = '{{ feature.name }}' and bin_order = {{ k }} then lower_bound end)
            as {{ feature.name }}_lower_{{ k }}{% if not (outer_loop.last and loop.last) %},{% endif %}
        {% endfor -%}
        {% endfor %}
        -- noqa: enable=LT02
    from bins
),

final as (
    select
        client_features.client_key,
        client_features.source_row_number,
        client_features.is_churned,
        client_features.balance,
        client_features.est_salary,
        client_features.city,
        client_features.gender,
        client_features.product_segment,
        -- noqa: disable=LT02
        -- (LT02 off in this generated list: sqlfluff misplaces indents in a Jinja loop whose last item has no comma)
        {% for feature in churn_features() -%}
        {% if feature.kind == 'continuous' -%}
        case
            when client_features.{{ feature.name }}_number is null then {{ var('missing_bucket_order') }}
            else 1
                {% for k in range(2, n_bins + 1) -%}
                + case
                    when client_features.{{ feature.name }}_number >= lower_bounds.{{ feature.name }}_lower_{{ k }}
                        then 1
                    else 0
                end
                {% endfor -%}
        end as {{ feature.name }}_bucket{% if not loop.last %},{% endif %}
        {% else -%}
        coalesce({{ feature.name }}_bucket.bucket_order, {{ var('missing_bucket_order') }})
            as {{ feature.name }}_bucket{% if not loop.last %},{% endif %}
        {% endif -%}
        {% endfor %}
        -- noqa: enable=LT02
    from client_features
    cross join lower_bounds
    {% for feature in churn_features() if feature.kind != 'continuous' -%}
    left join catalog as {{ feature.name }}_bucket
        on {{ feature.name }}_bucket.feature = '{{ feature.name }}'
        and client_features.{{ feature.name }}_text = {{ feature.name }}_bucket.bucket
        and {{ feature.name }}_bucket.bucket_order <> {{ var('missing_bucket_order') }}
    {% endfor %}
)

select * from final
