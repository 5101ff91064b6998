{#-
    One row per person source record whose own rows an incremental build rebuilds
    (macros/incremental.sql): its row in int_person_records_unioned, the links it makes
    (int_person_record_links), its stage signals, and the identity matching that starts from it
    (int_people_rematched). A record changed when the loader wrote, since the last build, the
    record itself or what those rows read of it: Salesforce lead history, contact roles and their
    opportunities (the opportunity and won signals), Marketo status changes, merges, new-lead
    activities and deleted leads, a HubSpot winner's merged contacts (as they were and are).
    Empty when the build rebuilds everything.
-#}
{%- set state = incremental_state() -%}

{#- Everything rebuilt: nothing to list (the query stays, so dbt sees every ref). -#}
{%- set since = instant_infinity() if state.full else text_to_instant("'" ~ state.changed_since ~ "'") %}

with changed_opportunity_ids as (
    select opportunity_id from {{ ref('stg_salesforce__opportunities') }} where _loaded_at >= {{ since }}
    union
    select opportunity_id from {{ ref('stg_salesforce__opportunity_field_history') }} where _loaded_at >= {{ since }}
),

changed_roles as (
    select opportunity_contact_role_id, contact_id
    from {{ ref('stg_salesforce__opportunity_contact_roles') }}
    where _loaded_at >= {{ since }}
),

changed_marketo_activities as (
    -- the activity types records, links and stage signals read: new lead, status change, merge
    select lead_id, activity_type_id
    from {{ ref('int_marketo_activities_parsed') }}
    where _loaded_at >= {{ since }} and activity_type_id in (12, 13, 32)
),

changed_hubspot_contacts as (
    select contact_id, merged_object_ids
    from {{ ref('stg_hubspot__contacts') }}
    where _loaded_at >= {{ since }}
),

record_keys as (
    select {{ record_key('salesforce', 'Lead', 'lead_id') }} as record_key
    from {{ ref('stg_salesforce__leads') }} where _loaded_at >= {{ since }}
    union all
    select {{ record_key('salesforce', 'Lead', 'lead_id') }}
    from {{ ref('stg_salesforce__lead_history') }} where _loaded_at >= {{ since }}
    union all
    select {{ record_key('salesforce', 'Contact', 'contact_id') }}
    from {{ ref('stg_salesforce__contacts') }} where _loaded_at >= {{ since }}
    union all
    -- a contact role's contact, now and (when the role moved) before: its signals name the role
    select {{ record_key('salesforce', 'Contact', 'contact_id') }} from changed_roles
    union all
    select signals.record_key
    from {{ last_built_or_empty('int_lifecycle_stage_signals', {'record_key': 'text', 'signal_source_id': 'text'}) }}
        as signals
    where signals.signal_source_id in (
        select 'OpportunityContactRole:' || opportunity_contact_role_id || suffix
        from changed_roles cross join (values (':opportunity'), (':won')) as suffixes (suffix)
    )
    union all
    select {{ record_key('salesforce', 'Contact', 'roles.contact_id') }}
    from {{ ref('stg_salesforce__opportunity_contact_roles') }} as roles
    where roles.opportunity_id in (select opportunity_id from changed_opportunity_ids)
    union all
    select {{ record_key('marketo', 'lead', 'lead_id') }}
    from {{ ref('stg_marketo__leads') }} where _loaded_at >= {{ since }}
    union all
    select {{ record_key('marketo', 'lead', 'lead_id') }}
    from {{ ref('stg_marketo__deleted_leads') }} where _loaded_at >= {{ since }}
    union all
    select {{ record_key('marketo', 'lead', 'lead_id') }} from changed_marketo_activities
    union all
    -- the leads a changed Merge Leads activity merged away
    select {{ record_key('marketo', 'lead', 'lead_merges.loser_lead_id') }}
    from {{ ref('int_marketo_lead_merges') }} as lead_merges
    where lead_merges.winner_lead_id in (select lead_id from changed_marketo_activities where activity_type_id = 32)
    union all
    select {{ record_key('hubspot', 'contacts', 'contact_id') }} from changed_hubspot_contacts
    union all
    -- the contacts a changed winner merged, as it names them now and as the last build linked them
    select {{ record_key('hubspot', 'contacts', 'merged.loser_id') }}
    from changed_hubspot_contacts
         {{ array_rows(regex_split('merged_object_ids', '\s*[;,]\s*'), 'merged', 'loser_id') }}
    where merged_object_ids is not null and merged.loser_id <> ''
    union all
    select links.to_key
    from {{ last_built_or_empty('int_person_record_links', {'from_key': 'text', 'to_key': 'text', 'link_type': 'text'}) }}
        as links
    where links.link_type = 'hubspot_merge'
      and links.from_key in (
          select {{ record_key('hubspot', 'contacts', 'contact_id') }} from changed_hubspot_contacts
      )
)

select distinct record_key
from record_keys
where record_key is not null and not {{ state.full }}
