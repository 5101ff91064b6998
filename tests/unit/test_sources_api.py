"""The vendor clients' call loop: retries, rate limits, re-authentication, quota, redaction.

The vendor is a scripted session here (the sandbox tests cover the real wire); `time.sleep` is
recorded instead of slept so the waits themselves can be checked.
"""

from __future__ import annotations

import json

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from baton.sources import api
from baton.sources.api import ApiError, QuotaExhausted, RetryPolicy, redact
from baton.sources.hubspot import HubSpotClient
from baton.sources.marketo import MarketoClient
from baton.sources.salesforce import SalesforceClient

POLICY = RetryPolicy(max_attempts=5, backoff_base=1.0, backoff_cap=8.0, retry_after_cap=300, timeout=5)


def response(status: int, body=None, headers: dict | None = None) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer._content = json.dumps(body).encode() if body is not None else b""
    answer.headers = CaseInsensitiveDict(headers or {})
    return answer


class ScriptedSession:
    """Answers each call with the next scripted answer whose path matches."""

    def __init__(self, script: list[tuple[str, object]]):
        self.script = list(script)
        self.headers: dict = {}
        self.calls: list[tuple[str, str, dict]] = []

    def request(self, method, url, params=None, json=None, data=None, headers=None, timeout=None):
        self.calls.append((method, url, dict(headers or {})))
        for index, (path, answer) in enumerate(self.script):
            if path in url:
                del self.script[index]
                if isinstance(answer, Exception):
                    raise answer
                return answer
        raise AssertionError(f"unscripted call {method} {url}")

    def close(self):
        pass


@pytest.fixture
def waits(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(api.time, "sleep", slept.append)
    return slept


def test_hubspot_429_waits_at_least_retry_after_then_succeeds(waits):
    session = ScriptedSession([("/crm/v3/owners", response(429, {"status": "error"}, {"Retry-After": "7"})),
                               ("/crm/v3/owners", response(200, {"results": []}))])
    client = HubSpotClient("http://hs", "pat-token", policy=POLICY, session=session)
    assert client.get("/crm/v3/owners") == {"results": []}
    assert len(waits) == 1 and waits[0] >= 7


def test_backoff_grows_exponentially_with_jitter_and_gives_up_after_max_attempts(waits):
    session = ScriptedSession([("/x", response(503))] * 5)
    client = HubSpotClient("http://hs", "pat-token", policy=POLICY, session=session)
    with pytest.raises(ApiError, match="gave up after 5 attempts"):
        client.get("/x")
    assert len(waits) == 4
    for attempt, waited in enumerate(waits, start=1):
        ceiling = min(POLICY.backoff_cap, POLICY.backoff_base * 2 ** (attempt - 1))
        assert ceiling / 10 <= waited <= ceiling


def test_connection_errors_and_timeouts_are_retried(waits):
    session = ScriptedSession([("/x", requests.ConnectionError("reset")), ("/x", requests.Timeout("slow")),
                               ("/x", response(200, {"ok": True}))])
    client = HubSpotClient("http://hs", "pat-token", policy=POLICY, session=session)
    assert client.get("/x") == {"ok": True}
    assert len(waits) == 2


def test_salesforce_expired_session_reauthenticates_and_repeats_the_call(waits):
    token = {"access_token": "tok-1", "instance_url": "http://sf-instance", "token_type": "Bearer"}
    session = ScriptedSession([
        ("/services/oauth2/token", response(200, token)),
        ("/queryAll", response(401, [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired"}])),
        ("/services/oauth2/token", response(200, dict(token, access_token="tok-2"))),
        ("/queryAll", response(200, {"done": True, "records": [{"Id": "1"}]})),
    ])
    client = SalesforceClient("http://sf-login", "cid", "csecret", policy=POLICY, session=session)
    assert list(client.query_all("SELECT Id FROM Lead")) == [{"Id": "1"}]
    data_calls = [c for c in session.calls if "/queryAll" in c[1]]
    assert [c[2]["Authorization"] for c in data_calls] == ["Bearer tok-1", "Bearer tok-2"]
    assert data_calls[-1][1].startswith("http://sf-instance/")  # the token answer's instance_url
    assert waits == []


def test_salesforce_request_limit_exceeded_is_a_retry_not_a_failure(waits):
    session = ScriptedSession([
        ("/services/oauth2/token", response(200, {"access_token": "t", "instance_url": "http://sf"})),
        ("/describe", response(403, [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit"}])),
        ("/describe", response(200, {"fields": [{"name": "Id", "type": "id"}]})),
    ])
    client = SalesforceClient("http://sf", "cid", "csecret", policy=POLICY, session=session)
    assert client.fields("Lead") == ["Id"]
    assert len(waits) == 1


def test_salesforce_malformed_query_fails_at_once(waits):
    session = ScriptedSession([
        ("/services/oauth2/token", response(200, {"access_token": "t", "instance_url": "http://sf"})),
        ("/queryAll", response(400, [{"errorCode": "MALFORMED_QUERY", "message": "unexpected token"}])),
    ])
    client = SalesforceClient("http://sf", "cid", "csecret", policy=POLICY, session=session)
    with pytest.raises(ApiError, match="MALFORMED_QUERY"):
        list(client.query_all("SELEC"))
    assert waits == []


def _marketo(script):
    token = ("/identity/oauth/token", response(200, {"access_token": "mk-token", "expires_in": 3600}))
    return MarketoClient("http://mk", "cid", "super-secret-value", policy=POLICY,
                         session=ScriptedSession([token, *script]))


def test_marketo_expired_token_in_a_200_body_reauthenticates(waits):
    client = _marketo([
        ("/activities/types.json", response(200, {"success": False, "errors": [{"code": "602", "message": "expired"}]})),
        ("/identity/oauth/token", response(200, {"access_token": "mk-token-2"})),
        ("/activities/types.json", response(200, {"success": True, "result": [{"id": 1}]})),
    ])
    assert client.activity_types() == [{"id": 1}]
    assert waits == []


def test_marketo_rate_limit_606_backs_off_and_retries(waits):
    client = _marketo([
        ("/activities/types.json", response(200, {"success": False, "errors": [{"code": "606", "message": "rate"}]})),
        ("/activities/types.json", response(200, {"success": False, "errors": [{"code": "615", "message": "conc"}]})),
        ("/activities/types.json", response(200, {"success": True, "result": []})),
    ])
    assert client.activity_types() == []
    assert len(waits) == 2 and waits[0] >= 20  # Marketo's 20-second rate window


def test_marketo_daily_quota_607_stops_with_a_clear_error_and_no_retry(waits):
    client = _marketo([
        ("/activities/types.json", response(200, {"success": False, "errors": [{"code": "607", "message": "quota"}]})),
    ])
    with pytest.raises(QuotaExhausted, match="daily quota"):
        client.activity_types()
    assert waits == []


def test_marketo_sends_its_token_in_the_header_never_the_url(waits):
    client = _marketo([("/activities/types.json", response(200, {"success": True, "result": []}))])
    client.activity_types()
    method, url, headers = client.session.calls[-1]
    assert "access_token" not in url and headers["Authorization"] == "Bearer mk-token"


def test_errors_and_log_text_never_carry_credentials(waits):
    client = _marketo([])
    client.session.script = [("/identity/oauth/token", requests.ConnectionError(
        "Max retries exceeded with url: /identity/oauth/token?client_id=cid&client_secret=super-secret-value"))] * 5
    with pytest.raises(ApiError) as failure:
        client.activity_types()
    assert "super-secret-value" not in str(failure.value)
    assert redact("GET /x?client_secret=abc&access_token=def Authorization: Bearer ghi.jkl") == (
        "GET /x?client_secret=***&access_token=*** Authorization: Bearer ***")
