select
    id                                                          as form_submission_id,
    data ->> 'formId'                                           as form_id,
    {{ clean_text("data ->> 'contactId'") }}                    as contact_id,
    {{ json_epoch_or_iso("data ->> 'submittedAt'") }}           as submitted_at,
    data ->> 'pageUrl'                                          as page_url,
    (select {{ normalize_email("value_item ->> 'value'") }}
       from jsonb_array_elements(coalesce(data -> 'values', '[]'::jsonb)) as value_item
      where value_item ->> 'name' = 'email' limit 1)            as email,
    is_deleted,
    _loaded_at
from {{ raw_source('hubspot', 'form_submission') }} as raw
