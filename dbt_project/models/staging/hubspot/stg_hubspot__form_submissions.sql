select
    id                                                          as form_submission_id,
    {{ json_text('data', 'formId') }}                                           as form_id,
    {{ clean_text(json_text('data', 'contactId')) }}                    as contact_id,
    {{ json_epoch_or_iso(json_text('data', 'submittedAt')) }}           as submitted_at,
    {{ json_text('data', 'pageUrl') }}                                          as page_url,
    {{ normalize_email(json_array_first_match(json_value('data', ['values'], '[]'), 'name', ['email'], 'value')) }}
                                                                as email,
    is_deleted,
    _loaded_at
from {{ raw_source('hubspot', 'form_submission') }} as raw
