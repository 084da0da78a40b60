-- Are 4 and 5 products close enough to merge into one segment "4+"? (tested by
-- tests/dbt/assert_products_4_and_5_mergeable.sql). On the shipped extract: 4 products 474
-- clients, 63.3 % churn; 5 products 19 clients, 42.1 %; pooled two-proportion z = 1.87 < 1.96,
-- so the difference is not significant, and 19 clients are too few to stand as a segment.
{{ products_4_vs_5_comparison() }}
