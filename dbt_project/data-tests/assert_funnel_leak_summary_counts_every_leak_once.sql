-- rpt_funnel_leak_summary: per leak type, its rows add up to the leaks of fct_funnel_leaks, and
-- no row counts more high-severity leaks or people than leaks.
with summarized as (
    select leak_type, sum(leaks) as leaks
    from {{ ref('rpt_funnel_leak_summary') }}
    group by leak_type
),

detected as (
    select leak_type, count(*) as leaks
    from {{ ref('fct_funnel_leaks') }}
    group by leak_type
)

select
    coalesce(summarized.leak_type, detected.leak_type) as leak_type,
    summarized.leaks as summarized_leaks,
    detected.leaks as detected_leaks
from summarized
full outer join detected on summarized.leak_type = detected.leak_type
where summarized.leaks is distinct from detected.leaks
union all
select leak_type, leaks, high_severity_leaks
from {{ ref('rpt_funnel_leak_summary') }}
where high_severity_leaks > leaks or people > leaks or leaks <= 0
