{{ config(materialized='incremental', incremental_strategy='rebuild_keys', unique_key='record_key',
          rebuilt_keys_from='int_person_records_changed', on_schema_change='sync_all_columns',
          indexes=[{'columns': ['record_key'], 'unique': true}]) }}
-- One row per source record that stands for a person: Salesforce leads and contacts,
-- Marketo leads, HubSpot contacts, with the attributes dim_people picks from. Incremental by
-- record: a build rebuilds the records of int_person_records_changed.
with salesforce_leads as (
    select
        {{ record_key('salesforce', 'Lead', 'lead_id') }} as record_key,
        'salesforce' as source_system, 'Lead' as source_object, lead_id as source_id,
        email, first_name, last_name, title, company, industry, employee_count, country,
        lead_source as original_source, cast(null as {{ engine_type('text') }}) as original_source_detail,
        owner_id as source_owner_id, master_record_id as merged_into_source_id,
        converted_account_id as crm_account_id, cast(null as {{ engine_type('text') }}) as hubspot_company_id,
        created_at, coalesce(system_modstamp, last_modified_at) as updated_at,
        is_deleted, is_converted
    from {{ ref('stg_salesforce__leads') }}
    where true {{ in_changed_records('lead_id', 'salesforce', 'Lead') }}
),

salesforce_contacts as (
    select
        {{ record_key('salesforce', 'Contact', 'contact_id') }},
        'salesforce', 'Contact', contact_id,
        email, first_name, last_name, title, cast(null as {{ engine_type('text') }}), cast(null as {{ engine_type('text') }}), cast(null as {{ engine_type('bigint') }}), country,
        lead_source, cast(null as {{ engine_type('text') }}),
        owner_id, master_record_id,
        account_id, cast(null as {{ engine_type('text') }}),
        created_at, coalesce(system_modstamp, last_modified_at),
        is_deleted, false
    from {{ ref('stg_salesforce__contacts') }}
    where true {{ in_changed_records('contact_id', 'salesforce', 'Contact') }}
),

marketo_removals as (
    -- Marketo deletes and merges as the loader landed them (deleted_lead stream, Merge Leads
    -- activities), not a flag on raw_marketo.lead: raw keeps each lead as the API returned it.
    select lead_id, deleted_at as gone_at from {{ ref('stg_marketo__deleted_leads') }}
    union all
    select loser_lead_id, merged_at from {{ ref('int_marketo_lead_merges') }}
),

marketo_leads as (
    select
        {{ record_key('marketo', 'lead', 'leads.lead_id') }},
        'marketo', 'lead', leads.lead_id,
        leads.email, leads.first_name, leads.last_name, leads.title, leads.company, leads.industry,
        leads.employee_count, leads.country,
        coalesce(leads.original_source_type, leads.lead_source), leads.original_source_info,
        cast(null as {{ engine_type('text') }}), cast(null as {{ engine_type('text') }}),
        leads.sfdc_account_id, cast(null as {{ engine_type('text') }}),
        leads.created_at, leads.updated_at,
        (leads.is_deleted or exists (
            select 1 from marketo_removals as removals where removals.lead_id = leads.lead_id
        )), false
    from {{ ref('stg_marketo__leads') }} as leads
    where true {{ in_changed_records('leads.lead_id', 'marketo', 'lead') }}
),

marketo_leads_gone as (
    -- Leads the API no longer serves (deleted or merged away before Baton first read them) are
    -- known only from activities: the Delete Lead / Merge Leads that removed them, and the New
    -- Lead activity that names the email they were created with.
    select
        {{ record_key('marketo', 'lead', 'gone.lead_id') }},
        'marketo', 'lead', gone.lead_id,
        {{ normalize_email('new_lead.primary_attribute_value') }}, cast(null as {{ engine_type('text') }}), cast(null as {{ engine_type('text') }}), cast(null as {{ engine_type('text') }}), cast(null as {{ engine_type('text') }}),
        cast(null as {{ engine_type('text') }}), cast(null as {{ engine_type('bigint') }}), cast(null as {{ engine_type('text') }}),
        cast(null as {{ engine_type('text') }}), cast(null as {{ engine_type('text') }}),
        cast(null as {{ engine_type('text') }}), cast(null as {{ engine_type('text') }}),
        cast(null as {{ engine_type('text') }}), cast(null as {{ engine_type('text') }}),
        new_lead.activity_at, gone.gone_at,
        true, false
    from (
        select lead_id, min(gone_at) as gone_at
        from marketo_removals as removals
        group by lead_id
    ) as gone
    left join (
        select lead_id, primary_attribute_value, activity_at
        from (
            select
                lead_id,
                primary_attribute_value,
                activity_at,
                row_number() over (
                    partition by lead_id
                    order by activity_at
                ) as distinct_on_rank
            from {{ ref('int_marketo_activities_parsed') }}
            where activity_type_id = 12 and primary_attribute_value like '%@%'
        ) as first_rows
        where distinct_on_rank = 1
) as new_lead using (lead_id)
    where not exists (select 1 from {{ ref('stg_marketo__leads') }} as leads where leads.lead_id = gone.lead_id)
        {{ in_changed_records('gone.lead_id', 'marketo', 'lead') }}
),

hubspot_contacts as (
    select
        {{ record_key('hubspot', 'contacts', 'contact_id') }},
        'hubspot', 'contacts', contact_id,
        email, first_name, last_name, title, company, industry, employee_count, country,
        analytics_source, analytics_source_data_1,
        owner_id, cast(null as {{ engine_type('text') }}),
        cast(null as {{ engine_type('text') }}), coalesce({{ array_first('company_ids') }}, associated_company_id),
        created_at, updated_at,
        is_deleted, false
    from {{ ref('stg_hubspot__contacts') }}
    where true {{ in_changed_records('contact_id', 'hubspot', 'contacts') }}
)

select * from salesforce_leads
union all
select * from salesforce_contacts
union all
select * from marketo_leads
union all
select * from marketo_leads_gone
union all
select * from hubspot_contacts
