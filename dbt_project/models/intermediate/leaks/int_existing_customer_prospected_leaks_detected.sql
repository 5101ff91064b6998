{#- Batch joins when rebuilding everything (hash joins, not nested loops guessed from CTE estimates); no
    JIT compile of the large plan. Incremental by person: a build rebuilds the people of int_people_changed. -#}
{{ config(materialized='incremental', incremental_strategy='rebuild_keys', unique_key='person_id',
          rebuilt_keys_from='int_people_changed', on_schema_change='sync_all_columns',
          pre_hook="{{ batch_join_settings() }}", indexes=[{'columns': ['person_id']}]) }}
{#-
    One row per person and handoff (of the touch; null before the first handoff) with a sales
    touch by an SDR on a person whose account had won an opportunity before it (docs/warehouse.md).
    The account as known at the touch: a corporate email domain and a HubSpot company from the
    start, a Salesforce contact's account from the contact's creation (a personal-email lead
    joins its company only when converted). Detected at the first such touch; the SDR owns it;
    severity medium.
-#}

with sales_touches as (
    select sales_activity_id, handoff_id, person_id, touched_at, owner_id, owner_role
    from {{ ref('int_sales_touches_assigned_to_handoffs') }}
    where true {{ in_change_set('person_id', 'int_people_changed', 'person_id') }}
),

owners as (
    select owner_id, name from {{ ref('int_owners_with_roles') }}
),

people as (
    select person_id, person_label from {{ ref('int_people_labelled') }}
),

opportunities as (
    select account_id, closed_at, close_date, is_won, is_deleted
    from {{ ref('fct_opportunities') }}
),

records as (
    select person_id, email, source_object, hubspot_company_id, crm_account_id, created_at
    from {{ ref('int_people_matched_across_sources') }}
    where true {{ in_change_set('person_id', 'int_people_changed', 'person_id') }}
),

account_records as (
    select account_id, domain, source_system, source_id
    from {{ ref('int_accounts_matched_across_sources') }}
),

personal_email_domains as (
    select domain from {{ ref('personal_email_domains') }}
),

customer_wins as (
    select
        account_id,
        min(coalesce(closed_at, cast(close_date as {{ engine_type('timestamptz') }}))) as first_won_at
    from opportunities
    where is_won and account_id is not null and not coalesce(is_deleted, false)
    group by account_id
),

person_account_links as (
    select
        records.person_id,
        accounts.account_id,
        {{ instant_infinity(negative=true) }} as linked_from
    from records
    inner join account_records as accounts
        on {{ dbt.split_part('records.email', "'@'", 2) }} = accounts.domain
    left join personal_email_domains as personal on {{ dbt.split_part('records.email', "'@'", 2) }} = personal.domain
    where records.email like '%_@_%' and personal.domain is null
    union all
    select
        records.person_id,
        accounts.account_id,
        {{ instant_infinity(negative=true) }} as linked_from
    from records
    inner join account_records as accounts
        on accounts.source_system = 'hubspot' and records.hubspot_company_id = accounts.source_id
    where records.source_object = 'contacts'
    union all
    select
        records.person_id,
        accounts.account_id,
        coalesce(records.created_at, {{ instant_infinity(negative=true) }}) as linked_from
    from records
    inner join account_records as accounts
        on accounts.source_system = 'salesforce' and records.crm_account_id = accounts.source_id
    where records.source_object = 'Contact'
),

customer_prospecting as (
    select person_id, handoff_id, toucher_id, touched_at, toucher_label, first_won_at
    from (
        select
            touches.person_id,
            touches.handoff_id,
            touches.owner_id as toucher_id,
            touches.touched_at,
            owners.name as toucher_label,
            customer_wins.first_won_at,
            row_number() over (
                partition by touches.person_id, touches.handoff_id
                order by touches.touched_at, touches.sales_activity_id, customer_wins.first_won_at
            ) as distinct_on_rank
        from sales_touches as touches
        inner join person_account_links as links
        on touches.person_id = links.person_id and links.linked_from <= touches.touched_at
        inner join customer_wins on links.account_id = customer_wins.account_id
        left join owners on touches.owner_id = owners.owner_id
        where
        touches.owner_role = 'sdr'
        and customer_wins.first_won_at < touches.touched_at
    ) as first_rows
    where distinct_on_rank = 1
)

select
    'existing_customer_prospected' as leak_type,
    customer_prospecting.person_id,
    customer_prospecting.handoff_id,
    customer_prospecting.toucher_id as owner_id,
    customer_prospecting.touched_at as detected_at,
    'medium' as severity,
    coalesce(people.person_label, customer_prospecting.person_id) || ' was prospected by SDR '
    || coalesce(customer_prospecting.toucher_label, 'unknown') || ' on '
    || {{ readable_instant('customer_prospecting.touched_at') }}
    || ', though the account has been a customer since '
    || {{ readable_instant('customer_prospecting.first_won_at') }} || '.' as detail
from customer_prospecting
left join people on customer_prospecting.person_id = people.person_id
