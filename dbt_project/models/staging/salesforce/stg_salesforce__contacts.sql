select
    id                                                          as contact_id,
    {{ clean_text("data ->> 'AccountId'") }}                    as account_id,
    {{ normalize_email("data ->> 'Email'") }}                   as email,
    {{ clean_text("data ->> 'FirstName'") }}                    as first_name,
    {{ clean_text("data ->> 'LastName'") }}                     as last_name,
    {{ clean_text("data ->> 'Title'") }}                        as title,
    {{ clean_text("data ->> 'LeadSource'") }}                   as lead_source,
    {{ clean_text("data ->> 'MailingCountry'") }}               as country,
    data ->> 'OwnerId'                                          as owner_id,
    {{ clean_text("data ->> 'MasterRecordId'") }}               as master_record_id,
    data ->> '{{ var("salesforce_marketing_touch_count_field") }}'  as marketing_touch_count,
    data ->> '{{ var("salesforce_last_marketing_touch_field") }}'   as last_marketing_touch_at,
    {{ clean_text("data ->> '" ~ var("salesforce_disqualified_reason_field") ~ "'") }} as disqualified_reason,
    {{ clean_text("data ->> '" ~ var("salesforce_recycled_reason_field") ~ "'") }}     as recycled_reason,
    {{ json_timestamptz("data ->> 'CreatedDate'") }}            as created_at,
    {{ json_timestamptz("data ->> 'LastModifiedDate'") }}       as last_modified_at,
    {{ json_timestamptz("data ->> 'SystemModstamp'") }}         as system_modstamp,
    is_deleted,
    _loaded_at
    {{ passthrough_columns('salesforce_contact_passthrough_fields') }}
from {{ raw_source('salesforce', 'contact') }} as raw
