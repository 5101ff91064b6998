"""The base API client every source builds on: auth, retries, rate limits, timeouts, no secrets in logs.

(Not named http.py: a module of that name on a plugins path, imported by its bare name, would
shadow the standard library's http.)

A vendor client subclasses `ApiClient` and says three things: how to authenticate, which
headers carry the credential, and how to read an answer (`classify`: ok, retry after a wait,
re-authenticate, out of quota, or fatal). The loop here does the rest: exponential backoff
with full jitter, `Retry-After` honoured, connection errors and timeouts retried, a token
that expires mid-run renewed once and the call repeated.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import orjson
import requests

from baton.sources.bodies import BodyError, parse_json

log = logging.getLogger(__name__)

# Query parameters and headers whose values are credentials (Marketo's identity call sends
# client_id/client_secret in its query string, so URLs are never logged with theirs).
_SECRET_PARAMS = re.compile(
    r"((?:client_secret|client_id|access_token|refresh_token|password|hapikey|token)=)[^&\s'\"]+", re.I)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.I)


def redact(text: str) -> str:
    """Text with every credential-looking value replaced by ***."""
    return _BEARER.sub(r"\1***", _SECRET_PARAMS.sub(r"\1***", str(text)))


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = ()
        record.msg = redact(record.msg)
        return True


def _guard_library_logs() -> None:
    # urllib3 logs request lines (with query strings) at DEBUG: redact them at the source.
    for name in ("urllib3.connectionpool", "requests"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactingFilter) for f in logger.filters):
            logger.addFilter(_RedactingFilter())


_guard_library_logs()


class ApiError(RuntimeError):
    """An answer the client cannot recover from (the message is already redacted)."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(redact(message))
        self.status = status


class QuotaExhausted(ApiError):
    """The vendor's daily quota is spent: stop the stream cleanly, resume from its watermark later."""


class CredentialError(ApiError):
    """The vendor refuses the credentials themselves (not an expired token): no retry can help."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    backoff_base: float = field(default_factory=lambda: float(os.environ.get("BATON_HTTP_BACKOFF_BASE", "1.0")))
    backoff_cap: float = 60.0
    retry_after_cap: float = field(default_factory=lambda: float(os.environ.get("BATON_HTTP_RETRY_AFTER_CAP", "300")))
    timeout: float = field(default_factory=lambda: float(os.environ.get("BATON_HTTP_TIMEOUT", "60")))
    max_reauth: int = 3

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))], at least a tenth of it."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 10, ceiling)


@dataclass
class Verdict:
    kind: str  # ok | retry | reauth | credentials | quota | fatal
    body: object = None
    wait: float | None = None
    message: str = ""


def retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def parse_body(response: requests.Response):
    """The JSON body (None when empty); records that cannot be read come back as Unreadable
    (baton.sources.bodies); raises BodyError when the body cannot be read at all."""
    if not response.content:
        return None
    return parse_json(response.content)


_CREDENTIAL_ERRORS = ("invalid_client", "invalid_grant", "unauthorized_client", "unauthorized")


def refused_credentials(response: requests.Response) -> bool:
    """An OAuth token endpoint's answer saying the client id/secret themselves are wrong."""
    if response.status_code not in (400, 401, 403):
        return False
    try:
        body = orjson.loads(response.content or b"{}")
    except orjson.JSONDecodeError:
        return response.status_code == 401
    return isinstance(body, dict) and str(body.get("error", "")).lower() in _CREDENTIAL_ERRORS


def _shape_of(body) -> str:
    if body is None:
        return "an empty body"
    if isinstance(body, list):
        return "an empty JSON array" if not body else f"a JSON array of {len(body)}"
    return f"a JSON {type(body).__name__}"


@dataclass
class CallStats:
    calls: int = 0
    retries: int = 0
    reauths: int = 0
    waited_s: float = 0.0


class ApiClient:
    """Subclasses implement `authenticate`, `auth_headers` and `classify`."""

    vendor = "api"

    def __init__(self, base_url: str, *, policy: RetryPolicy | None = None, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = "baton-extract/0.1"
        self.stats = CallStats()
        self._authenticated = False

    # -- vendor hooks -------------------------------------------------------------------------
    def authenticate(self) -> None:
        self._authenticated = True

    def auth_headers(self) -> dict[str, str]:
        return {}

    def classify(self, response: requests.Response) -> Verdict:
        return default_classify(response)

    # -- the call loop --------------------------------------------------------------------------
    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return self.base_url + ("" if path_or_url.startswith("/") else "/") + path_or_url

    def request(self, method: str, path_or_url: str, *, params=None, json=None, data=None,
                authenticated: bool = True, expect: type | None = dict):
        """One API call, retried until it succeeds or cannot; returns the parsed JSON body.

        A body that is not `expect` (every vendor answers a JSON object) is retried like an
        unreadable one. Credentials the vendor refuses raise CredentialError at once: at the token
        endpoint, or when a freshly issued token is refused again after re-authenticating.
        """
        shown = urlsplit(path_or_url).path  # what logs and errors name: never the query string
        reauths = 0
        last_problem = ""
        for attempt in range(1, self.policy.max_attempts + 1):
            if authenticated and not self._authenticated:
                self.authenticate()
            headers = self.auth_headers() if authenticated else {}
            target = self.url(path_or_url)  # after authenticating: the token may name the API host
            self.stats.calls += 1
            try:
                response = self.session.request(method, target, params=params, json=json, data=data,
                                                headers=headers, timeout=self.policy.timeout)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
                last_problem = f"{type(error).__name__}"
                self._wait(attempt, None, f"{method} {shown}: {last_problem}")
                continue
            if not authenticated and refused_credentials(response):
                raise CredentialError(f"{self.vendor}: credentials refused by {method} {shown}"
                                      f" (HTTP {response.status_code}: {response.text[:200]}); check the connection's"
                                      " client id and secret", status=response.status_code)
            try:
                verdict = self.classify(response)
            except (BodyError, orjson.JSONDecodeError, ValueError) as unreadable:
                verdict = Verdict("retry", message=f"unreadable body (HTTP {response.status_code}): {unreadable}")
            if verdict.kind == "ok":
                if expect is None or isinstance(verdict.body, expect):
                    return verdict.body
                verdict = Verdict("retry", message=f"expected a JSON {expect.__name__ if expect is not dict else 'object'}"
                                                   f", got {_shape_of(verdict.body)} (HTTP {response.status_code})")
            last_problem = verdict.message or f"HTTP {response.status_code}"
            if verdict.kind == "credentials" or (verdict.kind == "reauth" and not authenticated):
                raise CredentialError(f"{self.vendor}: credentials refused by {method} {shown}: {last_problem};"
                                      " check the connection's credentials", status=response.status_code)
            if verdict.kind == "reauth":
                reauths += 1
                self.stats.reauths += 1
                if reauths > self.policy.max_reauth:
                    raise CredentialError(f"{self.vendor}: {method} {shown}: a freshly issued token is refused"
                                          f" ({reauths - 1} re-authentications): {last_problem}",
                                          status=response.status_code)
                log.info("%s: token no longer valid (%s); authenticating again", self.vendor, redact(last_problem))
                self._authenticated = False
                continue
            if verdict.kind == "quota":
                raise QuotaExhausted(f"{self.vendor}: {method} {shown}: {last_problem}", status=response.status_code)
            if verdict.kind == "fatal":
                raise ApiError(f"{self.vendor}: {method} {shown}: {last_problem}", status=response.status_code)
            self._wait(attempt, verdict.wait, f"{method} {shown}: {last_problem}")
        raise ApiError(f"{self.vendor}: {method} {shown}: gave up after {self.policy.max_attempts} attempts:"
                       f" {last_problem}")

    def _wait(self, attempt: int, asked: float | None, problem: str) -> None:
        if attempt >= self.policy.max_attempts:
            return
        delay = self.policy.backoff(attempt)
        if asked is not None:
            delay = max(delay, min(asked, self.policy.retry_after_cap))
        self.stats.retries += 1
        self.stats.waited_s += delay
        log.info("%s: %s; retry %d in %.2fs", self.vendor, redact(problem), attempt, delay)
        time.sleep(delay)

    def get(self, path_or_url: str, **kwargs):
        return self.request("GET", path_or_url, **kwargs)

    def post(self, path_or_url: str, **kwargs):
        return self.request("POST", path_or_url, **kwargs)

    def close(self) -> None:
        self.session.close()


def default_classify(response: requests.Response) -> Verdict:
    status = response.status_code
    if 200 <= status < 300:
        return Verdict("ok", parse_body(response))
    message = f"HTTP {status}: {response.text[:300]}"
    if status == 401:
        return Verdict("reauth", message=message)
    if status == 429 or status >= 500 or status == 408:
        return Verdict("retry", wait=retry_after(response), message=message)
    return Verdict("fatal", message=message)
