-- One row per source record that stands for a person: Salesforce leads and contacts,
-- Marketo leads, HubSpot contacts, with the attributes dim_people picks from.
with salesforce_leads as (
    select
        {{ record_key('salesforce', 'Lead', 'lead_id') }} as record_key,
        'salesforce' as source_system, 'Lead' as source_object, lead_id as source_id,
        email, first_name, last_name, title, company, industry, employee_count, country,
        lead_source as original_source, null::text as original_source_detail,
        owner_id as source_owner_id, master_record_id as merged_into_source_id,
        converted_account_id as crm_account_id, null::text as hubspot_company_id,
        created_at, coalesce(system_modstamp, last_modified_at) as updated_at,
        is_deleted, is_converted
    from {{ ref('stg_salesforce__leads') }}
),

salesforce_contacts as (
    select
        {{ record_key('salesforce', 'Contact', 'contact_id') }},
        'salesforce', 'Contact', contact_id,
        email, first_name, last_name, title, null::text, null::text, null::bigint, country,
        lead_source, null::text,
        owner_id, master_record_id,
        account_id, null::text,
        created_at, coalesce(system_modstamp, last_modified_at),
        is_deleted, false
    from {{ ref('stg_salesforce__contacts') }}
),

marketo_leads as (
    select
        {{ record_key('marketo', 'lead', 'lead_id') }},
        'marketo', 'lead', lead_id,
        email, first_name, last_name, title, company, industry, employee_count, country,
        coalesce(original_source_type, lead_source), original_source_info,
        null::text, null::text,
        sfdc_account_id, null::text,
        created_at, updated_at,
        is_deleted, false
    from {{ ref('stg_marketo__leads') }}
),

hubspot_contacts as (
    select
        {{ record_key('hubspot', 'contacts', 'contact_id') }},
        'hubspot', 'contacts', contact_id,
        email, first_name, last_name, title, company, industry, employee_count, country,
        analytics_source, analytics_source_data_1,
        owner_id, null::text,
        null::text, coalesce(company_ids[1], associated_company_id),
        created_at, updated_at,
        is_deleted, false
    from {{ ref('stg_hubspot__contacts') }}
)

select * from salesforce_leads
union all select * from salesforce_contacts
union all select * from marketo_leads
union all select * from hubspot_contacts
