"""Baton's one way to Slack: the Slack provider's `SlackWebhookHook` on the connection `baton_slack`.

The failure alerts (baton.notify.alerts) and the nightly leak digest (baton.notify.digest) both post
through it. The connection is an Airflow connection of type `slackwebhook` (environment,
metadata database or secrets backend): its password is the incoming webhook's full URL, or the
token part (`T000/B000/XXXX`) with the host `hooks.slack.com/services` (the provider's rule), e.g.

    AIRFLOW_CONN_BATON_SLACK='{"conn_type": "slackwebhook", "password": "https://hooks.slack.com/services/T000/B000/XXXX"}'

`BATON_DIGEST_WEBHOOK_URL`, the digest's older setting, still works: when it is set and
`AIRFLOW_CONN_BATON_SLACK` is not, it is read as that connection's webhook URL.

The webhook URL is a credential: only its host is ever logged or put in an error.
"""

from __future__ import annotations

import json
import logging
import os
from urllib.parse import urlparse

log = logging.getLogger("baton.notify.slack")

SLACK_CONN_ID = "baton_slack"
LEGACY_WEBHOOK_ENV = "BATON_DIGEST_WEBHOOK_URL"
_CONN_ENV = f"AIRFLOW_CONN_{SLACK_CONN_ID.upper()}"
# slack_sdk logs each request's full URL at debug level: its own logger, never below INFO.
_CLIENT_LOG = logging.getLogger("baton.notify.slack.client")
_CLIENT_LOG.setLevel(logging.INFO)


class SlackFailed(RuntimeError):
    """Slack did not accept the message (the error names the webhook's host, never its URL)."""


def escape(text) -> str:
    """Slack mrkdwn: &, < and > are control characters."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _adopt_legacy_setting() -> None:
    url = os.environ.get(LEGACY_WEBHOOK_ENV)
    if url and not os.environ.get(_CONN_ENV):
        os.environ[_CONN_ENV] = json.dumps({"conn_type": "slackwebhook", "password": url})


def configured() -> bool:
    """True when Airflow's connection mechanisms define `baton_slack`."""
    from baton.connections import airflow_connection

    _adopt_legacy_setting()
    return airflow_connection(SLACK_CONN_ID) is not None


def not_configured_reason() -> str:
    return (f"no Slack connection {SLACK_CONN_ID!r} configured ({_CONN_ENV}, Airflow's connection store"
            f" or a secrets backend; type slackwebhook)")


def send(payload: dict) -> str:
    """Post one message (`text`, `blocks`) to the `baton_slack` webhook; returns the webhook's host.

    Connection errors, HTTP 429 (after its Retry-After) and 5xx answers are retried twice by slack_sdk's
    own retry handlers; any other refusal raises SlackFailed at once.
    """
    from airflow.providers.common.compat.sdk import AirflowException
    from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook
    from slack_sdk.http_retry.builtin_handlers import (
        ConnectionErrorRetryHandler,
        RateLimitErrorRetryHandler,
        ServerErrorRetryHandler,
    )

    _adopt_legacy_setting()
    hook = SlackWebhookHook(slack_webhook_conn_id=SLACK_CONN_ID, timeout=15, logger=_CLIENT_LOG,
                            retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=2),
                                            RateLimitErrorRetryHandler(max_retry_count=2),
                                            ServerErrorRetryHandler(max_retry_count=2)])
    where = urlparse(hook.client.url).netloc or "the webhook"
    try:
        hook.send_dict(payload)
    except AirflowException as refused:  # the hook's own check of the answer: its status and body
        raise SlackFailed(f"Slack webhook at {where} refused the message: {str(refused).split('. See:')[0]}") from None
    except Exception as error:
        raise SlackFailed(f"Slack webhook at {where} did not answer ({type(error).__name__})") from None
    return where
