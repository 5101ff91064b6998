-- One row per company: Salesforce accounts and HubSpot companies sharing a web domain are one
-- account, and a corporate email domain with no CRM account makes an account of its own.
with records as (
    select
        accounts.*,
        row_number() over (
            partition by accounts.account_id
            order by accounts.is_deleted, case accounts.source_system when 'salesforce' then 1 else 2 end,
                     accounts.created_at, accounts.record_key
        ) as trust_rank
    from {{ ref('int_accounts_matched_across_sources') }} as accounts
),

crm_accounts as (
    select
        account_id,
        (array_agg(name order by trust_rank) filter (where name is not null))[1] as name,
        (array_agg(domain order by trust_rank) filter (where domain is not null))[1] as domain,
        (array_agg(industry order by trust_rank) filter (where industry is not null))[1] as industry,
        (array_agg(employee_count order by trust_rank) filter (where employee_count is not null))[1] as employee_count,
        (array_agg(country order by trust_rank) filter (where country is not null))[1] as country,
        (array_agg(source_system || ':' || source_owner_id order by trust_rank)
            filter (where source_owner_id is not null and not is_deleted))[1] as crm_owner,
        (array_agg(source_id order by trust_rank) filter (where source_system = 'salesforce'))[1] as salesforce_account_id,
        (array_agg(source_id order by trust_rank) filter (where source_system = 'hubspot'))[1] as hubspot_company_id,
        bool_and(is_deleted) as is_deleted,
        'crm' as matched_by
    from records
    group by account_id
),

people as (
    select * from {{ ref('dim_people') }}
),

domain_accounts as (
    -- Corporate email domains no CRM account claims: the company name its people gave.
    select
        people_accounts.account_id,
        mode() within group (order by people.company) as name,
        min(people_accounts.email_domain) as domain,
        false as is_deleted
    from {{ ref('int_people_accounts') }} as people_accounts
    join people using (person_id)
    where people_accounts.matched_by = 'email_domain'
      and not exists (select 1 from crm_accounts where crm_accounts.account_id = people_accounts.account_id)
    group by people_accounts.account_id
),

accounts as (
    select account_id, name, domain, industry, employee_count, country, crm_owner,
           salesforce_account_id, hubspot_company_id, is_deleted, matched_by
    from crm_accounts
    union all
    select account_id, name, domain, null, null, null, null, null, null, is_deleted, 'email_domain'
    from domain_accounts
),

first_wins as (
    select account_id, min(coalesce(closed_at, close_date::timestamptz)) as customer_since
    from {{ ref('fct_opportunities') }}
    where is_won and not is_deleted and account_id is not null
      and coalesce(closed_at, close_date::timestamptz) <= {{ as_of() }}
    group by account_id
)

select
    accounts.account_id,
    accounts.name,
    accounts.domain,
    accounts.industry,
    accounts.employee_count,
    accounts.country,
    case when accounts.crm_owner is not null
         then {{ owner_key("split_part(accounts.crm_owner, ':', 1)", "substr(accounts.crm_owner, strpos(accounts.crm_owner, ':') + 1)") }}
    end as owner_id,
    first_wins.customer_since,
    accounts.salesforce_account_id,
    accounts.hubspot_company_id,
    accounts.matched_by,
    accounts.is_deleted
from accounts
left join first_wins using (account_id)
