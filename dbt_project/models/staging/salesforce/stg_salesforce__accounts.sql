select
    id                                                          as account_id,
    {{ clean_text(json_text('data', 'Name')) }}                         as name,
    {{ clean_text(json_text('data', 'Website')) }}                      as website,
    {{ website_domain(json_text('data', 'Website')) }}                  as domain,
    {{ clean_text(json_text('data', 'Industry')) }}                     as industry,
    {{ json_integer(json_text('data', 'NumberOfEmployees')) }}          as employee_count,
    {{ clean_text(json_text('data', 'BillingCountry')) }}               as country,
    {{ clean_text(json_text('data', 'Type')) }}                         as account_type,
    {{ json_text('data', 'OwnerId') }}                                          as owner_id,
    {{ clean_text(json_text('data', 'MasterRecordId')) }}               as master_record_id,
    {{ json_timestamptz(json_text('data', 'CreatedDate')) }}            as created_at,
    {{ json_timestamptz(json_text('data', 'SystemModstamp')) }}         as system_modstamp,
    is_deleted,
    _loaded_at
from {{ raw_source('salesforce', 'account') }} as raw
