{{ config(materialized='incremental', incremental_strategy='rebuild_keys', unique_key='from_key',
          rebuilt_keys_from='int_person_records_changed', rebuilt_keys_column='record_key', on_schema_change='sync_all_columns',
          indexes=[{'columns': ['from_key']}, {'columns': ['to_key']}]) }}
-- One row per evidence that two source records are the same person (an undirected edge),
-- or that a record carries an email (an edge to the email's node): the input of matching.
-- Each edge is the evidence of its from_key record: incremental by that record (a build rebuilds
-- the edges of int_person_records_changed).
with records as (
    select * from {{ ref('int_person_records_unioned') }}
    where true {{ in_change_set('record_key', 'int_person_records_changed', 'record_key') }}
),

email_links as (
    select record_key as from_key, 'email:' || email as to_key, 'same_email' as link_type
    from records
    where email is not null
),

lead_conversions as (
    select {{ record_key('salesforce', 'Lead', 'lead_id') }}, {{ record_key('salesforce', 'Contact', 'converted_contact_id') }},
           'salesforce_lead_converted'
    from {{ ref('stg_salesforce__leads') }}
    where converted_contact_id is not null {{ in_changed_records('lead_id', 'salesforce', 'Lead') }}
),

salesforce_merges as (
    select record_key, 'salesforce:' || source_object || ':' || merged_into_source_id, 'salesforce_merge'
    from records
    where source_system = 'salesforce' and merged_into_source_id is not null
),

marketo_crm_ids as (
    select {{ record_key('marketo', 'lead', 'lead_id') }}, {{ record_key('salesforce', 'Lead', 'sfdc_lead_id') }},
           'marketo_sfdc_lead_id'
    from {{ ref('stg_marketo__leads') }}
    where sfdc_lead_id is not null {{ in_changed_records('lead_id', 'marketo', 'lead') }}
    union all
    select {{ record_key('marketo', 'lead', 'lead_id') }}, {{ record_key('salesforce', 'Contact', 'sfdc_contact_id') }},
           'marketo_sfdc_contact_id'
    from {{ ref('stg_marketo__leads') }}
    where sfdc_contact_id is not null {{ in_changed_records('lead_id', 'marketo', 'lead') }}
),

hubspot_merges as (
    -- hs_merged_object_ids lists the archived contacts merged into this one, ';'-separated.
    select {{ record_key('hubspot', 'contacts', 'contact_id') }},
           {{ record_key('hubspot', 'contacts', 'merged.loser_id') }}, 'hubspot_merge'
    from {{ ref('stg_hubspot__contacts') }}
         {{ array_rows(regex_split('merged_object_ids', '\s*[;,]\s*'), 'merged', 'loser_id') }}
    where merged_object_ids is not null and merged.loser_id <> ''
        {{ in_changed_records('contact_id', 'hubspot', 'contacts') }}
),

marketo_merges as (
    select {{ record_key('marketo', 'lead', 'winner_lead_id') }}, {{ record_key('marketo', 'lead', 'loser_lead_id') }},
           'marketo_merge'
    from {{ ref('int_marketo_lead_merges') }}
    where true {{ in_changed_records('winner_lead_id', 'marketo', 'lead') }}
)

select * from email_links
union all
select * from lead_conversions
union all
select * from salesforce_merges
union all
select * from marketo_crm_ids
union all
select * from hubspot_merges
union all
select * from marketo_merges
