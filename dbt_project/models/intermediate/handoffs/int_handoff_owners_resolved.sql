{#- Batch joins on every build, incremental ones too (hash joins, not nested loops); no JIT compile of the
    large plan. PostgreSQL estimates one row for the Owner changes filtered out of LeadHistory's JSON, so
    with nested loops allowed it compared every change with every handoff rebuilt: quadratic in the
    night's change (119.5 s of a 219 s incremental build at ten million records, against 0.7 s with
    hash joins; docs/scale.md). Incremental by person: a build rebuilds the people of int_people_changed. -#}
{{ config(materialized='incremental', incremental_strategy='rebuild_keys', unique_key='person_id',
          rebuilt_keys_from='int_people_changed', on_schema_change='sync_all_columns',
          pre_hook="{{ batch_join_settings(always=true) }}",
          indexes=[{'columns': ['person_id']}, {'columns': ['handoff_id'], 'unique': true}]) }}
{#-
    One row per handoff (docs/warehouse.md): who owned it and who should have.
    The owner at handoff is the owner of the handoff's CRM record (int_handoffs_identified) at
    the instant the handoff reached it: Salesforce leads replay LeadHistory Owner changes;
    HubSpot contacts replay propertiesWithHistory of hubspot_owner_id when the extractor asked
    for it; otherwise the record's current owner (int_handoff_crm_records_joined).
    The expected owner is the owner of the person's account as it stood then (an account
    created later, e.g. by the lead's own conversion, does not count).
-#}
{%- set salesforce_owner_id_pattern = '^(005|00G)[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$' -%}

with handoff_records as (
    select
        handoff_id, person_id, handoff_number, handed_off_at, next_handoff_at, crm_record_key,
        crm_source_system, crm_source_object, crm_source_id, crm_reached_at
    from {{ ref('int_handoffs_identified') }}
    where true {{ in_change_set('person_id', 'int_people_changed', 'person_id') }}
),

crm_records as (
    select handoff_id, source_owner_id as current_source_owner_id
    from {{ ref('int_handoff_crm_records_joined') }}
),

records as (
    select * from {{ ref('int_people_matched_across_sources') }}
    where true {{ in_change_set('person_id', 'int_people_changed', 'person_id') }}
),

lead_history as (
    select * from {{ ref('stg_salesforce__lead_history') }}
    where lead_id in (select crm_source_id from handoff_records where crm_source_object = 'Lead')
),

hubspot_contacts as (
    select contact_id, properties_with_history from {{ ref('stg_hubspot__contacts') }}
    where contact_id in (select crm_source_id from handoff_records where crm_source_object = 'contacts')
),

account_records as (
    select * from {{ ref('int_accounts_matched_across_sources') }}
),

personal_email_domains as (
    select domain from {{ ref('personal_email_domains') }}
),

lead_owner_changes as (
    select lead_id, created_at, old_value, new_value, lead_history_id
    from lead_history
    where field in ('Owner', 'OwnerId')
      and not is_deleted
      -- Salesforce writes each owner change twice (names and ids); the ids are the ones to replay.
      and ({{ regex_matches('new_value', salesforce_owner_id_pattern) }} or {{ regex_matches('old_value', salesforce_owner_id_pattern) }})
),

hubspot_owner_history as (
    select
        contacts.contact_id,
        nullif({{ json_text('entry.element', 'value') }}, '')                     as owner_id,
        {{ json_epoch_or_iso(json_text('entry.element', 'timestamp')) }}          as changed_at
    from hubspot_contacts as contacts
    {{ json_array_rows(json_value('contacts.properties_with_history', ['hubspot_owner_id']), 'entry', 'element', 'entry_number') }}
),

lead_owner_before as (
    -- the latest Owner change at or before the handoff reached the lead
    select person_id, handed_off_at, owner_id
    from (
        select
            handoff_records.person_id,
            handoff_records.handed_off_at,
            changes.new_value as owner_id,
            row_number() over (
                partition by handoff_records.person_id, handoff_records.handed_off_at
                order by changes.created_at desc, changes.lead_history_id desc
            ) as distinct_on_rank
        from handoff_records
        join lead_owner_changes as changes
        on changes.lead_id = handoff_records.crm_source_id
        and changes.created_at <= handoff_records.crm_reached_at
        where handoff_records.crm_source_object = 'Lead'
    ) as first_rows
    where distinct_on_rank = 1
),

lead_owner_after as (
    -- else the owner the first later change replaced
    select person_id, handed_off_at, owner_id
    from (
        select
            handoff_records.person_id,
            handoff_records.handed_off_at,
            changes.old_value as owner_id,
            row_number() over (
                partition by handoff_records.person_id, handoff_records.handed_off_at
                order by changes.created_at, changes.lead_history_id
            ) as distinct_on_rank
        from handoff_records
        join lead_owner_changes as changes
        on changes.lead_id = handoff_records.crm_source_id
        and changes.created_at > handoff_records.crm_reached_at
        where handoff_records.crm_source_object = 'Lead'
    ) as first_rows
    where distinct_on_rank = 1
),

hubspot_owner_before as (
    select person_id, handed_off_at, owner_id
    from (
        select
            handoff_records.person_id,
            handoff_records.handed_off_at,
            history.owner_id,
            row_number() over (
                partition by handoff_records.person_id, handoff_records.handed_off_at
                order by history.changed_at desc
            ) as distinct_on_rank
        from handoff_records
        join hubspot_owner_history as history
        on history.contact_id = handoff_records.crm_source_id
        and history.changed_at <= handoff_records.crm_reached_at
        where handoff_records.crm_source_object = 'contacts'
    ) as first_rows
    where distinct_on_rank = 1
),

hubspot_contacts_with_owner_history as (
    select distinct contact_id from hubspot_owner_history
),

owners_at_handoff as (
    select
        handoff_records.*,
        case handoff_records.crm_source_object
            when 'Lead' then coalesce(lead_owner_before.owner_id, lead_owner_after.owner_id, crm_records.current_source_owner_id)
            when 'Contact' then crm_records.current_source_owner_id
            when 'contacts' then case when with_history.contact_id is not null then hubspot_owner_before.owner_id
                                      else crm_records.current_source_owner_id end
        end                                                                       as source_owner_id_at_handoff
    from handoff_records
    left join lead_owner_before using (person_id, handed_off_at)
    left join lead_owner_after using (person_id, handed_off_at)
    left join hubspot_owner_before using (person_id, handed_off_at)
    left join hubspot_contacts_with_owner_history as with_history
      on handoff_records.crm_source_object = 'contacts' and with_history.contact_id = handoff_records.crm_source_id
    left join crm_records using (handoff_id)
),

corporate_domains as (
    select distinct records.person_id, {{ dbt.split_part('records.email', "'@'", 2) }} as domain
    from records
    left join personal_email_domains as personal on personal.domain = {{ dbt.split_part('records.email', "'@'", 2) }}
    where records.email like '%_@_%' and personal.domain is null
),

handoff_records_of_people as (
    -- each handoff's person records that existed when the handoff reached the CRM
    select handoffs.person_id, handoffs.handed_off_at, records.source_object, records.crm_account_id,
           records.hubspot_company_id
    from owners_at_handoff as handoffs
    join records on records.person_id = handoffs.person_id
                and records.created_at <= coalesce(handoffs.crm_reached_at, handoffs.handed_off_at)
    where records.source_object in ('Contact', 'contacts')
),

account_links as (
    -- the CRM's own links: a Salesforce contact's account, a HubSpot contact's company
    select links.person_id, links.handed_off_at, accounts.*, 1 as link_rank
    from handoff_records_of_people as links
    join account_records as accounts
      on accounts.source_system = 'salesforce' and accounts.source_id = links.crm_account_id
    where links.source_object = 'Contact'
    union all
    select links.person_id, links.handed_off_at, accounts.*, 1
    from handoff_records_of_people as links
    join account_records as accounts
      on accounts.source_system = 'hubspot' and accounts.source_id = links.hubspot_company_id
    where links.source_object = 'contacts'
    union all
    -- else the account of the person's corporate email domain
    select handoffs.person_id, handoffs.handed_off_at, accounts.*, 2
    from owners_at_handoff as handoffs
    join corporate_domains on corporate_domains.person_id = handoffs.person_id
    join account_records as accounts on accounts.domain = corporate_domains.domain
),

expected_owners as (
    select person_id, handed_off_at, account_at_handoff_id, expected_owner_source_system, expected_source_owner_id
    from (
        select
            links.person_id,
            links.handed_off_at,
            links.account_id                                                          as account_at_handoff_id,
            links.source_system                                                       as expected_owner_source_system,
            links.source_owner_id                                                     as expected_source_owner_id,
            row_number() over (
                partition by links.person_id, links.handed_off_at
                order by (links.source_system = coalesce(handoffs.crm_source_system, links.source_system)) desc, links.link_rank, links.created_at asc, links.record_key asc
            ) as distinct_on_rank
        from account_links as links
        join owners_at_handoff as handoffs
        on handoffs.person_id = links.person_id and handoffs.handed_off_at = links.handed_off_at
        where links.source_owner_id is not null
        and not links.is_deleted
        and (links.created_at is null
        or links.created_at <= coalesce(handoffs.crm_reached_at, handoffs.handed_off_at))
    ) as first_rows
    where distinct_on_rank = 1
)

select
    handoffs.handoff_id,
    handoffs.person_id,
    cast(handoffs.handoff_number as {{ engine_type('integer') }})                                              as handoff_number,
    handoffs.handed_off_at,
    handoffs.next_handoff_at,
    handoffs.crm_record_key,
    handoffs.crm_source_system,
    handoffs.crm_source_object,
    handoffs.crm_source_id,
    handoffs.crm_reached_at,
    handoffs.source_owner_id_at_handoff,
    case when handoffs.source_owner_id_at_handoff is not null
         then {{ owner_key('handoffs.crm_source_system', 'handoffs.source_owner_id_at_handoff') }} end as owner_id,
    expected_owners.account_at_handoff_id,
    expected_owners.expected_owner_source_system,
    expected_owners.expected_source_owner_id,
    case when expected_owners.expected_source_owner_id is not null
         then {{ owner_key('expected_owners.expected_owner_source_system', 'expected_owners.expected_source_owner_id') }}
    end                                                                           as account_owner_id
from owners_at_handoff as handoffs
left join expected_owners
  on expected_owners.person_id = handoffs.person_id and expected_owners.handed_off_at = handoffs.handed_off_at
