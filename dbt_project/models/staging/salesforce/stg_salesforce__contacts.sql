select
    id                                                          as contact_id,
    {{ clean_text(json_text('data', 'AccountId')) }}                    as account_id,
    {{ normalize_email(json_text('data', 'Email')) }}                   as email,
    {{ clean_text(json_text('data', 'FirstName')) }}                    as first_name,
    {{ clean_text(json_text('data', 'LastName')) }}                     as last_name,
    {{ clean_text(json_text('data', 'Title')) }}                        as title,
    {{ clean_text(json_text('data', 'LeadSource')) }}                   as lead_source,
    {{ clean_text(json_text('data', 'MailingCountry')) }}               as country,
    {{ json_text('data', 'OwnerId') }}                                          as owner_id,
    {{ clean_text(json_text('data', 'MasterRecordId')) }}               as master_record_id,
    {{ json_text('data', var("salesforce_marketing_touch_count_field")) }}  as marketing_touch_count,
    {{ json_text('data', var("salesforce_last_marketing_touch_field")) }}   as last_marketing_touch_at,
    {{ clean_text(json_text('data', var("salesforce_disqualified_reason_field"))) }} as disqualified_reason,
    {{ clean_text(json_text('data', var("salesforce_recycled_reason_field"))) }}     as recycled_reason,
    {{ json_timestamptz(json_text('data', 'CreatedDate')) }}            as created_at,
    {{ json_timestamptz(json_text('data', 'LastModifiedDate')) }}       as last_modified_at,
    {{ json_timestamptz(json_text('data', 'SystemModstamp')) }}         as system_modstamp,
    is_deleted,
    _loaded_at
    {{ passthrough_columns('salesforce_contact_passthrough_fields') }}
from {{ raw_source('salesforce', 'contact') }} as raw
