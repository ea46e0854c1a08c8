-- Views the console adds to the analysts' set (docs/console.md). Same rules as 0003: UTC, counted by
-- business id, part of the contract (README, "Cohort analytics"). Numbered 0005: 0004 is the
-- customer-value migration of the value work.

-- Activation by cohort: of the customers whose first purchase was in the cohort month, those whose
-- stage went new -> active, which the lifecycle model does only on a second purchase day inside the
-- activation window (docs/lifecycle.md). activation_rate = activated_customers / cohort_customers.
CREATE VIEW IF NOT EXISTS {{db}}.cohort_activation_monthly AS
SELECT cohort_month, count() AS cohort_customers, sum(activated) AS activated_customers,
       activated_customers / cohort_customers AS activation_rate
FROM
(
    SELECT customer_id, cohort_month FROM {{db}}.customer_cohorts
) AS cohorts
ANY LEFT JOIN
(
    SELECT customer_id, toUInt64(1) AS activated
    FROM {{db}}.stage_transitions_unique
    WHERE from_stage = 'new' AND to_stage = 'active'
    GROUP BY customer_id
) AS activations USING customer_id
GROUP BY cohort_month;
