-- Attribution and stage history rely on every contact role naming a built opportunity and person.
select roles.opportunity_id, roles.person_id
from {{ ref('int_opportunity_contact_roles') }} as roles
left join {{ ref('fct_opportunities') }} as opportunities using (opportunity_id)
left join {{ ref('dim_people') }} as people using (person_id)
where opportunities.opportunity_id is null or people.person_id is null
