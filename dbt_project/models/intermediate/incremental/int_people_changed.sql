{#-
    One row per person whose rows the incremental person-level models rebuild (macros/incremental.sql):
    - the people of records matched again (int_people_rematched), as they are and as they were
      (a merge, a split, a new or changed record);
    - the people of sales activities and marketing touches the loader wrote since the last build,
      now and as the last build had them (an activity moved to another record);
    - the people of accounts that changed, or whose opportunities did (account owner, domain,
      customer since), by every link: CRM account or company, corporate email domain (as it was
      and is), the account the last build gave them;
    - the people of stage signals, sales activities, marketing touches and lead history whose
      instant lies between the last build's as-of and this one's.
    Empty when the build rebuilds everything.
-#}
-- depends_on: {{ ref('int_people_rematched') }}
-- depends_on: {{ ref('int_lifecycle_stage_signals') }}
-- depends_on: {{ ref('stg_salesforce__lead_history') }}
{%- set state = incremental_state() %}

{#- Everything rebuilt: nothing to list (the query stays, so dbt sees every ref). -#}
{%- set since = instant_infinity() if state.full else text_to_instant("'" ~ state.changed_since ~ "'") %}
{%- set last_activities = last_built_or_empty('int_sales_activities_unioned',
        {'person_id': 'text', 'source_system': 'text', 'source_object': 'text', 'source_id': 'text'}) %}
{%- set last_touchpoints = last_built_or_empty('fct_touchpoints', {'person_id': 'text', 'touchpoint_id': 'text'}) %}
{%- set last_accounts = last_built_or_empty('int_accounts_matched_across_sources',
        {'account_id': 'text', 'domain': 'text', 'source_system': 'text', 'source_id': 'text'}) %}
{%- set last_opportunities = last_built_or_empty('int_opportunities_unioned',
        {'account_id': 'text', 'source_system': 'text', 'source_id': 'text'}) %}
{%- set last_people_accounts = last_built_or_empty('int_people_accounts', {'person_id': 'text', 'account_id': 'text'}) %}

{%- set records = ref('int_people_matched_across_sources') %}
{#- The person records are read in place (not a CTE), so each branch looks its few keys up by index. #}

with changed_activities as (
    select source_system, source_object, source_id, record_key
    from {{ ref('int_sales_activities_logged') }}
    where _loaded_at >= {{ since }}
),

changed_touches as (
    select touchpoint_id, record_key, email
    from {{ ref('int_touchpoints_unioned') }}
    where _loaded_at >= {{ since }}
),

changed_opportunities as (
    select 'salesforce' as source_system, opportunity_id as source_id, account_id
    from {{ ref('stg_salesforce__opportunities') }}
    where _loaded_at >= {{ since }}
       or opportunity_id in (
           select opportunity_id from {{ ref('stg_salesforce__opportunity_field_history') }}
           where _loaded_at >= {{ since }}
       )
    union all
    select 'hubspot', deal_id, {{ array_first('company_ids') }}
    from {{ ref('stg_hubspot__deals') }}
    where _loaded_at >= {{ since }}
),

changed_account_sources as (
    -- account records written since the last build, and the accounts of opportunities that were
    select 'salesforce' as source_system, account_id as source_id
    from {{ ref('stg_salesforce__accounts') }} where _loaded_at >= {{ since }}
    union
    select 'hubspot', company_id from {{ ref('stg_hubspot__companies') }} where _loaded_at >= {{ since }}
    union
    select source_system, account_id from changed_opportunities where account_id is not null
),

changed_account_ids as (
    -- as the last build matched them
    select account_id from {{ last_accounts }} as last_accounts
    where (source_system, source_id) in (select source_system, source_id from changed_account_sources)
    union
    select account_id from {{ last_opportunities }} as last_opportunities
    where (source_system, source_id) in (select source_system, source_id from changed_opportunities)
),

changed_domains as (
    select domain from {{ ref('stg_salesforce__accounts') }}
    where account_id in (select source_id from changed_account_sources where source_system = 'salesforce')
    union
    select domain from {{ ref('stg_hubspot__companies') }}
    where company_id in (select source_id from changed_account_sources where source_system = 'hubspot')
    union
    select domain from {{ last_accounts }} as last_accounts
    where (source_system, source_id) in (select source_system, source_id from changed_account_sources)
),

people as (
    select person_id from {{ ref('int_people_rematched') }}
    union all
    select previous_person_id from {{ ref('int_people_rematched') }}
    union all
    select records.person_id from changed_activities
    inner join {{ records }} as records on changed_activities.record_key = records.record_key
    union all
    select last_activities.person_id
    from {{ last_activities }} as last_activities
    where (last_activities.source_system, last_activities.source_object, last_activities.source_id)
        in (select source_system, source_object, source_id from changed_activities)
    union all
    select records.person_id from changed_touches
    inner join {{ records }} as records on changed_touches.record_key = records.record_key
    union all
    select records.person_id from changed_touches
    inner join {{ records }} as records on changed_touches.email = records.email
    union all
    select last_touchpoints.person_id
    from {{ last_touchpoints }} as last_touchpoints
    where last_touchpoints.touchpoint_id in (select touchpoint_id from changed_touches)
    union all
    select records.person_id from {{ records }} as records
    where records.crm_account_id in (select source_id from changed_account_sources where source_system = 'salesforce')
    union all
    select records.person_id from {{ records }} as records
    where records.hubspot_company_id in (select source_id from changed_account_sources where source_system = 'hubspot')
    union all
    select records.person_id from {{ records }} as records
    where {{ dbt.split_part('records.email', "'@'", 2) }} in (select domain from changed_domains where domain is not null)
    union all
    select last_people_accounts.person_id
    from {{ last_people_accounts }} as last_people_accounts
    where last_people_accounts.account_id in (select account_id from changed_account_ids)
    {%- if not state.full and state.previous_as_of is not none and state.previous_as_of != state.as_of %}
    union all
    -- what crossed the as-of line between the two builds
    select records.person_id
    from {{ ref('int_lifecycle_stage_signals') }} as signals
    inner join {{ records }} as records on signals.record_key = records.record_key
    where {{ crossed_as_of('signals.signaled_at', state) }}
    union all
    select records.person_id
    from {{ ref('int_sales_activities_logged') }} as activities
    inner join {{ records }} as records on activities.record_key = records.record_key
    where {{ crossed_as_of('activities.touched_at', state) }}
    union all
    select records.person_id
    from {{ ref('int_touchpoints_unioned') }} as touches
    inner join {{ records }} as records on touches.record_key = records.record_key
    where {{ crossed_as_of('touches.touched_at', state) }}
    union all
    select records.person_id
    from {{ ref('int_touchpoints_unioned') }} as touches
    inner join {{ records }} as records on touches.email = records.email
    where {{ crossed_as_of('touches.touched_at', state) }}
    union all
    select records.person_id
    from {{ ref('stg_salesforce__lead_history') }} as history
    inner join {{ records }} as records on records.record_key = {{ record_key('salesforce', 'Lead', 'history.lead_id') }}
    where {{ crossed_as_of('history.created_at', state) }}
    {%- endif %}
)

select distinct person_id
from people
where person_id is not null and not {{ state.full }}
