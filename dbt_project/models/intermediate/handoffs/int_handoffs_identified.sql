{#- Batch joins: hash joins, not nested loops guessed from CTE estimates; no JIT compile of the large plan. -#}
{{ config(pre_hook=["set local jit = off", "set local enable_nestloop = off"]) }}
{#-
    One row per handoff (CONTRACT.md §4): a person entering mql, i.e. every mql spell of
    fct_lifecycle_stage_history (a re-entry after recycled is a new handoff). handed_off_at is
    the spell's start, the earliest sign in any system. The handoff's window runs to the next
    handoff (or as-of).
    The CRM record of the handoff is the record on which it first reached the CRM: the
    earliest Salesforce lead/contact mql signal in the window, else the earliest HubSpot
    contact one (a person in both works in Salesforce; the HubSpot copy is marketing's).
    The owner at handoff is that record's owner at that instant: Salesforce leads replay
    LeadHistory Owner changes; HubSpot contacts replay propertiesWithHistory of
    hubspot_owner_id when the extractor asked for it; otherwise the record's current owner.
    The expected owner is the owner of the person's account as it stood then (an account
    created later, e.g. by the lead's own conversion, does not count).
-#}
{%- set salesforce_owner_id_pattern = '^(005|00G)[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$' -%}

with mql_spells as (
    select
        person_id,
        entered_at                                                               as handed_off_at,
        row_number() over (partition by person_id order by entered_at)           as handoff_number,
        lead(entered_at) over (partition by person_id order by entered_at)       as next_handoff_at
    from {{ ref('fct_lifecycle_stage_history') }}
    where stage = 'mql'
),

records as (
    select * from {{ ref('int_people_matched_across_sources') }}
),

crm_signals as (
    select
        records.person_id,
        signals.record_key,
        records.source_system,
        records.source_object,
        records.source_id,
        signals.signaled_at
    from {{ ref('int_lifecycle_stage_signals') }} as signals
    join records using (record_key)
    where signals.stage = 'mql'
      and records.source_object in ('Lead', 'Contact', 'contacts')
      and signals.signaled_at <= {{ as_of() }}
),

handoff_records as (
    select distinct on (spells.person_id, spells.handed_off_at)
        spells.*,
        crm_signals.record_key                                                    as crm_record_key,
        crm_signals.source_system                                                 as crm_source_system,
        crm_signals.source_object                                                 as crm_source_object,
        crm_signals.source_id                                                     as crm_source_id,
        crm_signals.signaled_at                                                   as crm_reached_at
    from mql_spells as spells
    left join crm_signals
      on crm_signals.person_id = spells.person_id
     and crm_signals.signaled_at >= spells.handed_off_at
     and (spells.next_handoff_at is null or crm_signals.signaled_at < spells.next_handoff_at)
    order by spells.person_id, spells.handed_off_at,
             case crm_signals.source_system when 'salesforce' then 1 else 2 end,
             crm_signals.signaled_at, crm_signals.record_key
),

lead_owner_changes as (
    select lead_id, created_at, old_value, new_value, lead_history_id
    from {{ ref('stg_salesforce__lead_history') }}
    where field in ('Owner', 'OwnerId')
      and not is_deleted
      -- Salesforce writes each owner change twice (names and ids); the ids are the ones to replay.
      and (new_value ~ '{{ salesforce_owner_id_pattern }}' or old_value ~ '{{ salesforce_owner_id_pattern }}')
),

hubspot_owner_history as (
    select
        contacts.contact_id,
        nullif(entry ->> 'value', '')                                             as owner_id,
        {{ json_epoch_or_iso("entry ->> 'timestamp'") }}                          as changed_at
    from {{ ref('stg_hubspot__contacts') }} as contacts
    cross join lateral jsonb_array_elements(
        case jsonb_typeof(contacts.properties_with_history -> 'hubspot_owner_id')
            when 'array' then contacts.properties_with_history -> 'hubspot_owner_id' else '[]'::jsonb end
    ) as entry
),

lead_owner_before as (
    -- the latest Owner change at or before the handoff reached the lead
    select distinct on (handoff_records.person_id, handoff_records.handed_off_at)
        handoff_records.person_id, handoff_records.handed_off_at, changes.new_value as owner_id
    from handoff_records
    join lead_owner_changes as changes
      on changes.lead_id = handoff_records.crm_source_id
     and changes.created_at <= handoff_records.crm_reached_at
    where handoff_records.crm_source_object = 'Lead'
    order by handoff_records.person_id, handoff_records.handed_off_at, changes.created_at desc,
             changes.lead_history_id desc
),

lead_owner_after as (
    -- else the owner the first later change replaced
    select distinct on (handoff_records.person_id, handoff_records.handed_off_at)
        handoff_records.person_id, handoff_records.handed_off_at, changes.old_value as owner_id
    from handoff_records
    join lead_owner_changes as changes
      on changes.lead_id = handoff_records.crm_source_id
     and changes.created_at > handoff_records.crm_reached_at
    where handoff_records.crm_source_object = 'Lead'
    order by handoff_records.person_id, handoff_records.handed_off_at, changes.created_at,
             changes.lead_history_id
),

hubspot_owner_before as (
    select distinct on (handoff_records.person_id, handoff_records.handed_off_at)
        handoff_records.person_id, handoff_records.handed_off_at, history.owner_id
    from handoff_records
    join hubspot_owner_history as history
      on history.contact_id = handoff_records.crm_source_id
     and history.changed_at <= handoff_records.crm_reached_at
    where handoff_records.crm_source_object = 'contacts'
    order by handoff_records.person_id, handoff_records.handed_off_at, history.changed_at desc
),

hubspot_contacts_with_owner_history as (
    select distinct contact_id from hubspot_owner_history
),

owners_at_handoff as (
    select
        handoff_records.*,
        case handoff_records.crm_source_object
            when 'Lead' then coalesce(lead_owner_before.owner_id, lead_owner_after.owner_id, leads.owner_id)
            when 'Contact' then contacts.owner_id
            when 'contacts' then case when with_history.contact_id is not null then hubspot_owner_before.owner_id
                                      else hubspot_contacts.owner_id end
        end                                                                       as source_owner_id_at_handoff
    from handoff_records
    left join lead_owner_before using (person_id, handed_off_at)
    left join lead_owner_after using (person_id, handed_off_at)
    left join hubspot_owner_before using (person_id, handed_off_at)
    left join hubspot_contacts_with_owner_history as with_history
      on handoff_records.crm_source_object = 'contacts' and with_history.contact_id = handoff_records.crm_source_id
    left join {{ ref('stg_salesforce__leads') }} as leads
      on handoff_records.crm_source_object = 'Lead' and leads.lead_id = handoff_records.crm_source_id
    left join {{ ref('stg_salesforce__contacts') }} as contacts
      on handoff_records.crm_source_object = 'Contact' and contacts.contact_id = handoff_records.crm_source_id
    left join {{ ref('stg_hubspot__contacts') }} as hubspot_contacts
      on handoff_records.crm_source_object = 'contacts' and hubspot_contacts.contact_id = handoff_records.crm_source_id
),

corporate_domains as (
    select distinct records.person_id, split_part(records.email, '@', 2) as domain
    from records
    left join {{ ref('personal_email_domains') }} as personal on personal.domain = split_part(records.email, '@', 2)
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
    join {{ ref('int_accounts_matched_across_sources') }} as accounts
      on accounts.source_system = 'salesforce' and accounts.source_id = links.crm_account_id
    where links.source_object = 'Contact'
    union all
    select links.person_id, links.handed_off_at, accounts.*, 1
    from handoff_records_of_people as links
    join {{ ref('int_accounts_matched_across_sources') }} as accounts
      on accounts.source_system = 'hubspot' and accounts.source_id = links.hubspot_company_id
    where links.source_object = 'contacts'
    union all
    -- else the account of the person's corporate email domain
    select handoffs.person_id, handoffs.handed_off_at, accounts.*, 2
    from owners_at_handoff as handoffs
    join corporate_domains on corporate_domains.person_id = handoffs.person_id
    join {{ ref('int_accounts_matched_across_sources') }} as accounts on accounts.domain = corporate_domains.domain
),

expected_owners as (
    select distinct on (links.person_id, links.handed_off_at)
        links.person_id,
        links.handed_off_at,
        links.account_id                                                          as account_at_handoff_id,
        links.source_system                                                       as expected_owner_source_system,
        links.source_owner_id                                                     as expected_source_owner_id
    from account_links as links
    join owners_at_handoff as handoffs
      on handoffs.person_id = links.person_id and handoffs.handed_off_at = links.handed_off_at
    where links.source_owner_id is not null
      and not links.is_deleted
      and (links.created_at is null
           or links.created_at <= coalesce(handoffs.crm_reached_at, handoffs.handed_off_at))
    order by links.person_id, links.handed_off_at,
             (links.source_system = coalesce(handoffs.crm_source_system, links.source_system)) desc,
             links.link_rank, links.created_at, links.record_key
)

select
    {{ surrogate_key(["'handoff'", 'handoffs.person_id', 'handoffs.handed_off_at']) }} as handoff_id,
    handoffs.person_id,
    handoffs.handoff_number::integer                                              as handoff_number,
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
