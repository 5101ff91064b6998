{{ config(materialized='incremental', incremental_strategy='rebuild_keys', unique_key='person_id',
          rebuilt_keys_from='int_people_changed', on_schema_change='sync_all_columns',
          indexes=[{'columns': ['person_id'], 'unique': true}, {'columns': ['account_id']}]) }}
-- One row per person with the account they belong to: the CRM's own link first (Salesforce
-- contact account, converted lead account, Marketo's sfdcAccountId, HubSpot company), else
-- the person's corporate email domain. A free-mail domain never gives an account. Incremental by
-- person (int_people_changed).
with records as (
    select * from {{ ref('int_people_matched_across_sources') }}
    where true {{ in_change_set('person_id', 'int_people_changed', 'person_id') }}
),

account_records as (
    select * from {{ ref('int_accounts_matched_across_sources') }}
),

record_accounts as (
    -- Two equi-joins, not one join on an OR: the planner can hash these.
    select records.*, account_records.account_id
    from records
    join account_records
      on account_records.source_system = 'salesforce' and account_records.source_id = records.crm_account_id
    union all
    select records.*, account_records.account_id
    from records
    join account_records
      on account_records.source_system = 'hubspot' and account_records.source_id = records.hubspot_company_id
),

crm_links as (
    select
        person_id,
        account_id,
        -- Salesforce contact first, then converted lead, Marketo, HubSpot; live records first.
        row_number() over (
            partition by person_id
            order by is_deleted asc,
                     case source_object when 'Contact' then 1 when 'Lead' then 2 when 'lead' then 3 else 4 end,
                     updated_at desc nulls last, record_key asc
        ) as preference
    from record_accounts
),

email_domains as (
    select person_id, domain
    from (
        select
            records.person_id,
            {{ dbt.split_part('records.email', "'@'", 2) }} as domain,
            row_number() over (
                partition by records.person_id
                order by records.is_deleted asc, records.updated_at desc nulls last, records.record_key asc
            ) as distinct_on_rank
        from records
        left join {{ ref('personal_email_domains') }} as personal on personal.domain = {{ dbt.split_part('records.email', "'@'", 2) }}
        where records.email like '%@%' and personal.domain is null and {{ dbt.split_part('records.email', "'@'", 2) }} <> ''
    ) as first_rows
    where distinct_on_rank = 1
),

people as (
    select distinct person_id from records
)

select
    people.person_id,
    coalesce(crm_links.account_id, {{ surrogate_key(["'account'", "'domain:' || email_domains.domain"]) }}) as account_id,
    case when crm_links.account_id is not null then 'crm_link' when email_domains.domain is not null then 'email_domain' end as matched_by,
    email_domains.domain as email_domain
from people
left join crm_links on crm_links.person_id = people.person_id and crm_links.preference = 1
left join email_domains on email_domains.person_id = people.person_id
where crm_links.account_id is not null or email_domains.domain is not null
