select
    id                                                          as account_id,
    {{ clean_text("data ->> 'Name'") }}                         as name,
    {{ clean_text("data ->> 'Website'") }}                      as website,
    {{ website_domain("data ->> 'Website'") }}                  as domain,
    {{ clean_text("data ->> 'Industry'") }}                     as industry,
    {{ json_integer("data ->> 'NumberOfEmployees'") }}          as employee_count,
    {{ clean_text("data ->> 'BillingCountry'") }}               as country,
    {{ clean_text("data ->> 'Type'") }}                         as account_type,
    data ->> 'OwnerId'                                          as owner_id,
    {{ clean_text("data ->> 'MasterRecordId'") }}               as master_record_id,
    {{ json_timestamptz("data ->> 'CreatedDate'") }}            as created_at,
    {{ json_timestamptz("data ->> 'SystemModstamp'") }}         as system_modstamp,
    is_deleted,
    _loaded_at
from {{ raw_source('salesforce', 'account') }} as raw
