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
        {{ first_by("name", ["trust_rank"], "name is not null") }} as name,
        {{ first_by("domain", ["trust_rank"], "domain is not null") }} as domain,
        {{ first_by("industry", ["trust_rank"], "industry is not null") }} as industry,
        {{ first_by("employee_count", ["trust_rank"], "employee_count is not null") }} as employee_count,
        {{ first_by("country", ["trust_rank"], "country is not null") }} as country,
        {{ first_by("source_system || ':' || source_owner_id", ["trust_rank"], "source_owner_id is not null and not is_deleted") }} as crm_owner,
        {{ first_by("source_id", ["trust_rank"], "source_system = 'salesforce'") }} as salesforce_account_id,
        {{ first_by("source_id", ["trust_rank"], "source_system = 'hubspot'") }} as hubspot_company_id,
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
    select account_id, min(coalesce(closed_at, cast(close_date as {{ engine_type('timestamptz') }}))) as customer_since
    from {{ ref('fct_opportunities') }}
    where is_won and not is_deleted and account_id is not null
      and coalesce(closed_at, cast(close_date as {{ engine_type('timestamptz') }})) <= {{ as_of() }}
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
         then {{ owner_key(dbt.split_part('accounts.crm_owner', "':'", 1), 'substr(accounts.crm_owner, ' ~ dbt.position("':'", 'accounts.crm_owner') ~ ' + 1)') }}
    end as owner_id,
    first_wins.customer_since,
    accounts.salesforce_account_id,
    accounts.hubspot_company_id,
    accounts.matched_by,
    accounts.is_deleted
from accounts
left join first_wins using (account_id)
