{#-
    One row per handoff (fct_handoffs) with the words a leak's detail uses: the person's label,
    the owner's, the expected owner's and the first toucher's names, what the CRM calls the
    record (Lead or Contact), and when it becomes a black hole without a sales touch.
-#}

with handoffs as (
    select * from {{ ref('fct_handoffs') }}
),

people as (
    select person_id, person_label from {{ ref('int_people_labelled') }}
),

owners as (
    select owner_id, name, team from {{ ref('int_owners_with_roles') }}
)

select
    handoffs.*,
    assembled.black_hole_due_at,
    people.person_label,
    coalesce(owner.name, 'nobody') as owner_label,
    owner.team as owner_team,
    expected.name as expected_owner_label,
    first_toucher.name as first_toucher_label,
    case handoffs.crm_source_object
        when 'Lead' then 'Lead'
        when 'Contact' then 'Contact'
        when 'contacts' then 'Contact'
        else 'Lead'
    end as record_word
from handoffs
inner join {{ ref('int_handoffs_assembled') }} as assembled on handoffs.handoff_id = assembled.handoff_id
left join people on handoffs.person_id = people.person_id
left join owners as owner on handoffs.owner_id = owner.owner_id
left join owners as expected on handoffs.expected_owner_id = expected.owner_id
left join owners as first_toucher on handoffs.first_sales_touch_owner_id = first_toucher.owner_id
