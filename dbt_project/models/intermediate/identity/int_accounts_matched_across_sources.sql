-- One row per company source record (Salesforce account, HubSpot company) with the account it
-- belongs to: records sharing a web domain are one account; a merged Salesforce account
-- follows its master; a record without a domain is an account of its own.
-- depends_on: {{ ref('int_people_changed') }} (built after it: it reads what the last build matched)
with records as (
    select
        {{ record_key('salesforce', 'Account', 'account_id') }} as record_key,
        'salesforce' as source_system, 'Account' as source_object, account_id as source_id,
        name, domain, industry, employee_count, country, owner_id as source_owner_id,
        account_type, master_record_id, created_at, is_deleted
    from {{ ref('stg_salesforce__accounts') }}
    union all
    select
        {{ record_key('hubspot', 'companies', 'company_id') }},
        'hubspot', 'companies', company_id,
        name, domain, industry, employee_count, country, owner_id,
        lifecycle_stage, null, created_at, is_deleted
    from {{ ref('stg_hubspot__companies') }}
),

keyed as (
    select
        records.*,
        case when records.domain is not null and personal.domain is null
             then 'domain:' || records.domain else records.record_key end as own_account_key
    from records
    left join {{ ref('personal_email_domains') }} as personal on personal.domain = records.domain
)

select
    coalesce(master.own_account_key, keyed.own_account_key) as account_key,
    {{ surrogate_key(["'account'", 'coalesce(master.own_account_key, keyed.own_account_key)']) }} as account_id,
    keyed.*
from keyed
left join keyed as master
    on keyed.master_record_id is not null
   and master.source_system = 'salesforce'
   and master.source_id = keyed.master_record_id
