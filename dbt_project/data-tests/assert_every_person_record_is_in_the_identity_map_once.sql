-- Matching neither drops nor duplicates a source record.
select records.record_key
from {{ ref('int_person_records_unioned') }} as records
left join {{ ref('dim_people_identities') }} as identities on identities.identity_id = records.record_key
group by records.record_key
having count(identities.identity_id) <> 1
