"""Writing one task into the CRM, at most once: a Salesforce Task or a HubSpot task.

The writers are the extract's vendor clients (authentication, token renewal, error reading) with
one more call each, `write(draft)`. A POST is not a read: repeating it after an answer that never
came could make a second task. So the loop tells apart

- answers that say nothing was written (429, Salesforce's REQUEST_LIMIT_EXCEEDED, an expired token):
  wait (Retry-After honoured) and POST again;
- answers that say nothing of the sort (5xx, a timeout, a dropped connection): find the task by its
  key in the CRM first, and POST again only when it is not there;
- refusals (400 and the other 4xx): TaskRejected at once, with the vendor's message.

`find(draft)` is that lookup: Salesforce Tasks on the record whose subject carries Baton's prefix,
HubSpot tasks associated with the contact; the key is matched in their description / body (a
Salesforce text area cannot be filtered on).
"""

from __future__ import annotations

import logging
import re

import requests

from baton.instants import iso_z
from baton.sources.api import CredentialError, RetryPolicy, Verdict, redact
from baton.sources.hubspot import HubSpotClient
from baton.sources.salesforce import API_VERSION, SalesforceClient
from baton.watch.compose import TaskDraft, key_line

log = logging.getLogger("baton.watch")

HUBSPOT_TASK_TO_CONTACT = 204  # HUBSPOT_DEFINED association type: task → contact
_SALESFORCE_ID = re.compile(r"^[0-9A-Za-z]{15,18}$")


class TaskRejected(RuntimeError):
    """The CRM refused the task (a validation error): nothing was written."""


class TaskNotWritten(RuntimeError):
    """The CRM never confirmed the task and it is not there: nothing was written (retried next hour)."""


class _Writer:
    """The create loop shared by both vendors; subclasses say how to POST, read the id and find a task."""

    system = "crm"
    policy: RetryPolicy

    def _post(self, draft: TaskDraft, prefix: str) -> requests.Response:
        raise NotImplementedError

    def _created_id(self, body) -> str:
        raise NotImplementedError

    def find(self, draft: TaskDraft, prefix: str) -> str | None:
        raise NotImplementedError

    def _not_written(self, response: requests.Response, verdict: Verdict) -> bool:
        """Whether this failed answer says for sure that nothing was created (a rate limit)."""
        return response.status_code == 429

    def write(self, draft: TaskDraft, prefix: str) -> tuple[str, bool]:
        """(task id, found): the task created, or found by its key after an unanswered POST."""
        unanswered = False
        reauths = 0
        problem = ""
        for attempt in range(1, self.policy.max_attempts + 1):
            if unanswered:
                found = self.find(draft, prefix)
                if found:
                    log.info("%s: task %s found by its key after an unanswered write", self.system, found)
                    return found, True
            if not self._authenticated:
                self.authenticate()
            try:
                response = self._post(draft, prefix)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
                unanswered, problem = True, f"no answer ({type(error).__name__})"
                self._wait(attempt, None, f"POST task: {problem}")
                continue
            verdict = self.classify(response)
            if verdict.kind == "ok":
                return self._created_id(verdict.body), False
            problem = redact(verdict.message or f"HTTP {response.status_code}")
            if verdict.kind == "credentials":
                raise CredentialError(f"{self.system}: credentials refused writing a task: {problem}")
            if verdict.kind == "reauth":
                reauths += 1
                if reauths > self.policy.max_reauth:
                    raise CredentialError(f"{self.system}: a freshly issued token is refused writing a task: {problem}")
                self._authenticated = False
                continue
            if verdict.kind == "retry" and not self._not_written(response, verdict):
                unanswered = True  # a 5xx may come after the vendor committed
            elif verdict.kind != "retry":
                raise TaskRejected(f"{self.system} refused the task: {problem}")
            self._wait(attempt, verdict.wait, f"POST task: {problem}")
        if unanswered:
            found = self.find(draft, prefix)
            if found:
                return found, True
        raise TaskNotWritten(f"{self.system}: no task after {self.policy.max_attempts} attempts ({problem});"
                             " not there either")


class SalesforceTaskWriter(_Writer, SalesforceClient):
    system = "salesforce"

    def _not_written(self, response: requests.Response, verdict: Verdict) -> bool:
        return response.status_code == 429 or "REQUEST_LIMIT_EXCEEDED" in response.text[:500]

    def _post(self, draft: TaskDraft, prefix: str) -> requests.Response:
        task = {"WhoId": draft.record_id, "OwnerId": draft.owner_source_id, "Subject": draft.subject,
                "Description": draft.text, "ActivityDate": draft.due_date.isoformat(), "Status": "Not Started",
                "Priority": "High", "TaskSubtype": "Task"}
        return self.session.post(self.url(f"/services/data/{self.api_version}/sobjects/Task"), json=task,
                                 headers=self.auth_headers(), timeout=self.policy.timeout)

    def _created_id(self, body) -> str:
        if not isinstance(body, dict) or not body.get("id"):
            raise TaskNotWritten(f"salesforce answered a create without an id: {str(body)[:200]}")
        return str(body["id"])

    def find(self, draft: TaskDraft, prefix: str) -> str | None:
        if not _SALESFORCE_ID.match(draft.record_id):
            raise TaskRejected(f"salesforce: {draft.record_id!r} is not a record id")
        like = prefix.replace("\\", "\\\\").replace("'", "\\'").replace("%", "\\%").replace("_", "\\_")
        soql = (f"SELECT Id, Description FROM Task WHERE WhoId = '{draft.record_id}' AND Subject LIKE '{like}%'"
                " ORDER BY CreatedDate, Id")
        wanted = key_line(draft.key)
        for record in self.query_all(soql):
            if wanted in (record.get("Description") or ""):
                return str(record["Id"])
        return None


class HubSpotTaskWriter(_Writer, HubSpotClient):
    system = "hubspot"

    def _post(self, draft: TaskDraft, prefix: str) -> requests.Response:
        task = {"properties": {"hs_timestamp": iso_z(draft.due_at, millis=True),
                               "hs_task_subject": draft.subject, "hs_task_body": draft.html,
                               "hs_task_status": "NOT_STARTED", "hs_task_priority": "HIGH", "hs_task_type": "TODO",
                               "hubspot_owner_id": draft.owner_source_id},
                "associations": [{"to": {"id": draft.record_id}, "types": [
                    {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": HUBSPOT_TASK_TO_CONTACT}]}]}
        return self.session.post(self.url("/crm/v3/objects/tasks"), json=task, headers=self.auth_headers(),
                                 timeout=self.policy.timeout)

    def _created_id(self, body) -> str:
        if not isinstance(body, dict) or not body.get("id"):
            raise TaskNotWritten(f"hubspot answered a create without an id: {str(body)[:200]}")
        return str(body["id"])

    def find(self, draft: TaskDraft, prefix: str) -> str | None:
        linked = self.post("/crm/v4/associations/contacts/tasks/batch/read", json={"inputs": [{"id": draft.record_id}]})
        task_ids = [str(item["toObjectId"]) for result in linked.get("results") or [] for item in result.get("to") or []]
        wanted = key_line(draft.key)
        for start in range(0, len(task_ids), 100):
            read = self.post("/crm/v3/objects/tasks/batch/read", json={
                "properties": ["hs_task_subject", "hs_task_body"],
                "inputs": [{"id": task_id} for task_id in task_ids[start:start + 100]]})
            for task in read.get("results") or []:
                properties = task.get("properties") or {}
                if str(properties.get("hs_task_subject") or "").startswith(prefix) \
                        and wanted in (properties.get("hs_task_body") or ""):
                    return str(task["id"])
        return None


def writer_for(system: str, connection, *, attempts: int):
    """The task writer of a CRM, from its Airflow connection (the extract's own)."""
    policy = RetryPolicy(max_attempts=attempts)
    if system == "salesforce":
        return SalesforceTaskWriter(connection.base_url, connection.login or "", connection.password or "",
                                    api_version=connection.extra.get("api_version", API_VERSION), policy=policy)
    if system == "hubspot":
        return HubSpotTaskWriter(connection.base_url or "https://api.hubapi.com", connection.password or "",
                                 policy=policy)
    raise ValueError(f"no task writer for {system!r}: tasks go to salesforce or hubspot")
