"""Failure alerts: one Slack message per task that failed for good, through the `baton_slack` connection.

`alert_task_failed(context)` is the on_failure_callback of every Baton task (baton.airflow.dags):
Airflow calls it once a task has failed after its retries (a retry calls on_retry_callback instead),
and a gate or publish failure fails at once (fail_without_retry), so a failed extract, dbt build,
quality gate or publish alerts once. The message names the DAG, the task, the run, the error's first
line and, when Airflow's `[api] base_url` is set, links the task's log. Every credential Airflow
knows of is masked, and URL passwords and token-looking values are cut out, before anything is sent.

Without a Slack connection nothing is sent and one log line says so; an alert that Slack refuses is
logged and never hides the task's own failure.
"""

from __future__ import annotations

import logging
import re

from baton.notify import slack

log = logging.getLogger("baton.notify.alerts")

_URL_PASSWORD = re.compile(r"(\w+://[^/\s:@]*:)[^@\s/]+@")  # postgresql://user:SECRET@host → user:***@host
_ERROR_CHARS = 300


def alert_task_failed(context) -> str:
    """on_failure_callback: post the failed task's alert; returns what happened (sent, not_configured, failed)."""
    if not slack.configured():
        log.info("failure alert not sent: %s", slack.not_configured_reason())
        return "not_configured"
    try:
        where = slack.send(failure_message(context))
    except slack.SlackFailed as error:
        log.warning("failure alert not sent: %s", error)
        return "failed"
    log.info("failure alert posted to %s", where)
    return "sent"


def failure_message(context) -> dict:
    """The Slack payload for a failed task: `text` (the notification line) and `blocks`."""
    ti = context["ti"]
    dag_id = ti.dag_id
    task = ti.task_id
    rendered = getattr(ti, "rendered_map_index", None)
    if ti.map_index is not None and ti.map_index >= 0:
        task += f"[{rendered or ti.map_index}]"
    run_id = ti.run_id
    error = error_line(context.get("exception"))
    link = log_link(ti)
    text = f"Baton: {dag_id}.{task} failed in run {run_id}: {error}"
    lines = [f"*DAG* `{slack.escape(dag_id)}`  *task* `{slack.escape(task)}`",
             f"*run* `{slack.escape(run_id)}`, try {getattr(ti, 'try_number', '?')}",
             f"*error* {slack.escape(error)}"]
    if link:
        lines.append(f"<{link}|The task's log>")
    return {"text": text, "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": f"Baton: {dag_id}.{task} failed"[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
    ]}


def error_line(exception) -> str:
    """The error's first line (its type when it says nothing else), with every known secret masked."""
    if exception is None:
        return "no error recorded (the task was marked failed)"
    text = str(exception).strip()
    first = text.splitlines()[0] if text else ""
    if isinstance(exception, BaseException):
        first = f"{type(exception).__name__}: {first}" if first else type(exception).__name__
    return mask(first)[:_ERROR_CHARS]


def mask(text: str) -> str:
    """Secrets Airflow's masker knows of (connection passwords, sensitive variables), URL passwords and
    credential-looking query values and bearer tokens, replaced by ***."""
    from baton.sources.api import redact

    try:
        from airflow.sdk.log import redact as airflow_redact

        text = str(airflow_redact(text))
    except ImportError:
        pass
    return redact(_URL_PASSWORD.sub(r"\1***@", text))


def log_link(ti) -> str | None:
    """The task log's address in Airflow's UI, when `[api] base_url` says where the UI is."""
    from airflow.sdk.configuration import conf

    if not conf.get("api", "base_url", fallback=None):
        return None
    return getattr(ti, "log_url", None)
