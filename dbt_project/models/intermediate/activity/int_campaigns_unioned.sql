{#-
    One row per campaign id with a name: Marketo programs, Salesforce campaigns and HubSpot
    forms (the campaign of a marketing touch in fct_touchpoints). An id seen twice keeps its
    first name in alphabetical order.
-#}

with marketo_programs as (
    select program_id, name from {{ ref('stg_marketo__programs') }}
),

salesforce_campaigns as (
    select campaign_id, name from {{ ref('stg_salesforce__campaigns') }}
),

hubspot_forms as (
    select form_id, name from {{ ref('stg_hubspot__forms') }}
),

campaign_names as (
    select program_id as campaign_id, name from marketo_programs
    union all
    select campaign_id, name from salesforce_campaigns
    union all
    select form_id as campaign_id, name from hubspot_forms
)

select campaign_id, name
from (
    select
        campaign_id,
        name,
        row_number() over (
            partition by campaign_id
            order by name
        ) as distinct_on_rank
    from campaign_names
) as first_rows
where distinct_on_rank = 1
