"""What the sandbox's vendor objects carry, field by field, named as the real APIs name them.

One list serves the generator (every record carries every field, null when unknown), the
server (Salesforce describe, unknown-field errors, HubSpot's default property lists) and
the reader of the dbt staging models. Custom fields follow docs/warehouse.md's defaults.
"""

from __future__ import annotations

SALESFORCE_API_VERSION = "v60.0"

_SF_AUDIT = ("CreatedDate", "LastModifiedDate", "SystemModstamp", "IsDeleted")

SALESFORCE_OBJECTS: dict[str, tuple[str, ...]] = {
    "Lead": (
        "Id", "FirstName", "LastName", "Email", "Title", "Company", "Industry", "NumberOfEmployees",
        "Country", "LeadSource", "Status", "OwnerId", "IsConverted", "ConvertedDate",
        "ConvertedContactId", "ConvertedAccountId", "ConvertedOpportunityId", "MasterRecordId",
        "Marketing_Touch_Count__c", "Last_Marketing_Touch_At__c", "Disqualified_Reason__c",
        "Recycled_Reason__c", *_SF_AUDIT,
    ),
    "Contact": (
        "Id", "AccountId", "FirstName", "LastName", "Email", "Title", "LeadSource", "MailingCountry",
        "OwnerId", "MasterRecordId", "Marketing_Touch_Count__c", "Last_Marketing_Touch_At__c",
        "Disqualified_Reason__c", "Recycled_Reason__c", *_SF_AUDIT,
    ),
    "Account": (
        "Id", "Name", "Website", "Industry", "NumberOfEmployees", "BillingCountry", "Type", "OwnerId",
        "MasterRecordId", *_SF_AUDIT,
    ),
    "Opportunity": (
        "Id", "Name", "AccountId", "OwnerId", "StageName", "Amount", "CloseDate", "IsClosed", "IsWon",
        "LeadSource", "CampaignId", "Type", *_SF_AUDIT,
    ),
    "OpportunityContactRole": (
        "Id", "OpportunityId", "ContactId", "Role", "IsPrimary", *_SF_AUDIT,
    ),
    "Task": (
        "Id", "WhoId", "WhatId", "OwnerId", "Subject", "TaskSubtype", "Status", "ActivityDate",
        "CompletedDateTime", "Description", "Priority", *_SF_AUDIT,
    ),
    "Event": (
        "Id", "WhoId", "WhatId", "OwnerId", "Subject", "StartDateTime", "EndDateTime", *_SF_AUDIT,
    ),
    # As in Salesforce: User, UserRole and Group have no IsDeleted.
    "User": ("Id", "Name", "FirstName", "LastName", "Email", "IsActive", "UserRoleId", "CreatedDate",
             "LastModifiedDate", "SystemModstamp"),
    "UserRole": ("Id", "Name", "ParentRoleId", "LastModifiedDate", "SystemModstamp"),
    "Group": ("Id", "Name", "DeveloperName", "Type", "CreatedDate", "LastModifiedDate", "SystemModstamp"),
    "Campaign": ("Id", "Name", "Type", "Status", "StartDate", "EndDate", "IsActive", *_SF_AUDIT),
    "CampaignMember": (
        "Id", "CampaignId", "LeadId", "ContactId", "Status", "HasResponded", "FirstRespondedDate",
        *_SF_AUDIT,
    ),
    # As in Salesforce: the history objects have CreatedDate but no SystemModstamp.
    "LeadHistory": ("Id", "LeadId", "Field", "OldValue", "NewValue", "CreatedById", "CreatedDate", "IsDeleted"),
    "OpportunityFieldHistory": (
        "Id", "OpportunityId", "Field", "OldValue", "NewValue", "CreatedById", "CreatedDate", "IsDeleted",
    ),
}

# Salesforce id prefixes (first three characters of the 18-character id).
SALESFORCE_ID_PREFIX = {
    "Account": "001", "Contact": "003", "Opportunity": "006", "Lead": "00Q", "User": "005",
    "Group": "00G", "UserRole": "00E", "Task": "00T", "Event": "00U", "Campaign": "701",
    "CampaignMember": "00v", "OpportunityContactRole": "00K", "LeadHistory": "017",
    "OpportunityFieldHistory": "017",
}

MARKETO_LEAD_FIELDS = (
    "id", "email", "firstName", "lastName", "title", "company", "industry", "numberOfEmployees",
    "country", "leadSource", "leadStatus", "leadScore", "sfdcLeadId", "sfdcContactId",
    "sfdcAccountId", "originalSourceType", "originalSourceInfo", "acquisitionProgramId",
    "createdAt", "updatedAt",
)

# Marketo's standard activity type ids (activities/types.json serves them with names and attributes).
MARKETO_ACTIVITY_TYPES = {
    1: "Visit Webpage",
    2: "Fill Out Form",
    6: "Send Email",
    7: "Email Delivered",
    10: "Open Email",
    11: "Click Email",
    12: "New Lead",
    13: "Change Data Value",
    19: "Sync Lead to SFDC",
    22: "Change Score",
    32: "Merge Leads",
    37: "Delete Lead",
    104: "Change Status in Progression",
}

MARKETO_PROGRAM_FIELDS = ("id", "name", "type", "channel", "status", "createdAt", "updatedAt")

HUBSPOT_PROPERTIES: dict[str, tuple[str, ...]] = {
    "contacts": (
        "email", "firstname", "lastname", "jobtitle", "company", "industry", "numemployees", "country",
        "lifecyclestage", "hs_lead_status", "lead_status_reason", "hubspot_owner_id",
        "hs_analytics_source", "hs_analytics_source_data_1", "num_conversion_events",
        "recent_conversion_date", "associatedcompanyid", "hs_merged_object_ids", "createdate",
        "lastmodifieddate", "hs_object_id",
    ),
    "companies": (
        "name", "domain", "industry", "numberofemployees", "country", "hubspot_owner_id",
        "lifecyclestage", "createdate", "hs_lastmodifieddate", "hs_object_id",
    ),
    "deals": (
        "dealname", "amount", "dealstage", "pipeline", "closedate", "hs_is_closed", "hs_is_closed_won",
        "hubspot_owner_id", "createdate", "hs_lastmodifieddate", "hs_object_id",
    ),
    "calls": ("hs_timestamp", "hs_call_status", "hs_call_direction", "hs_call_title", "hubspot_owner_id",
              "hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
    "emails": ("hs_timestamp", "hs_email_direction", "hs_email_status", "hs_email_subject",
               "hubspot_owner_id", "hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
    "meetings": ("hs_timestamp", "hs_meeting_title", "hs_meeting_start_time", "hs_meeting_end_time",
                 "hs_meeting_outcome", "hubspot_owner_id", "hs_createdate", "hs_lastmodifieddate",
                 "hs_object_id"),
    "tasks": ("hs_timestamp", "hs_task_subject", "hs_task_status", "hs_task_type", "hubspot_owner_id",
              "hs_createdate", "hs_lastmodifieddate", "hs_object_id", "hs_task_body", "hs_task_priority"),
}

# The property HubSpot's search API filters on for "changed since" windows.
HUBSPOT_LAST_MODIFIED = {"contacts": "lastmodifieddate"}
HUBSPOT_LAST_MODIFIED_DEFAULT = "hs_lastmodifieddate"

# Which associations each HubSpot object carries (the v3 `associations=` parameter).
HUBSPOT_ASSOCIATIONS = {
    "contacts": ("companies",),
    "deals": ("contacts", "companies"),
    "calls": ("contacts",),
    "emails": ("contacts",),
    "meetings": ("contacts",),
    "tasks": ("contacts",),
}
