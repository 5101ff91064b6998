-- rpt_funnel_conversion: reaching a stage means reaching it or a later one, so each cohort row
-- counts no more people at a stage than at the one before, and every rate lies in [0, 1].
select *
from {{ ref('rpt_funnel_conversion') }}
where
    not (
        people >= reached_prospect
        and reached_prospect >= reached_mql
        and reached_mql >= reached_sal
        and reached_sal >= reached_sql
        and reached_sql >= reached_opportunity
        and reached_opportunity >= reached_customer
    )
    or prospect_to_mql_rate not between 0 and 1
    or mql_to_sal_rate not between 0 and 1
    or sal_to_sql_rate not between 0 and 1
    or sql_to_opportunity_rate not between 0 and 1
    or opportunity_to_customer_rate not between 0 and 1
