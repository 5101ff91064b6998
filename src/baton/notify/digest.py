"""The nightly leak digest: new leaks since the last digest, posted to a Slack incoming webhook.

What is new: leaks in marts.fct_funnel_leaks not named by an earlier digest, detected in the
`lookback_days` before as-of (so the first digest, or one after a long pause, is news and not
the whole history). Leaks come in the rank marts.dim_leak_types gives them (black holes and SLA
breaches first); each line names the person, the
owner and what is overdue. A leak counts as sent only once the webhook accepted the digest, so
a failed post is retried by the next run, never lost and never sent twice.

Where it goes: the Slack connection `baton_slack` (type `slackwebhook`), through the Slack
provider's hook, like the failure alerts (baton.notify.slack; `BATON_DIGEST_WEBHOOK_URL` still
works as that connection's URL). The URL is a secret: it is never logged, only its host.
"""

from __future__ import annotations

import logging
import os
import uuid
from datetime import datetime, timedelta, timezone

from baton.notify import slack
from baton.notify.leak_types import rank_sql, read_leak_types

log = logging.getLogger("baton.notify.digest")

REPORT_BASE_URL_ENV = "BATON_REPORT_BASE_URL"  # where the reports folder is served, e.g. an intranet path

_SECTION_CHARS = 2900  # Slack: a section's text is at most 3,000 characters
_MAX_SECTIONS = 45     # Slack: at most 50 blocks per message


class DigestFailed(RuntimeError):
    pass


def _relation_exists(conn, name: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (name,)).fetchone()[0]


def new_leaks(conn, *, as_of: datetime, lookback_days: int = 7, marts_schema: str = "marts") -> list[dict]:
    """Leaks not yet sent, detected in the lookback window before as-of, most urgent first."""
    marts = f'"{marts_schema}"'
    if not _relation_exists(conn, f"{marts}.fct_funnel_leaks"):
        return []
    person = ("trim(concat_ws(' ', p.first_name, p.last_name))", "p.email") \
        if _relation_exists(conn, f"{marts}.dim_people") else ("null", "null")
    owner = ("o.name", "o.email") if _relation_exists(conn, f"{marts}.dim_owners") else ("null", "null")
    handoff = "h.handed_off_at" if _relation_exists(conn, f"{marts}.fct_handoffs") else "null::timestamptz"
    leak_types = read_leak_types(conn, marts_schema)
    rows = conn.execute(f"""
        select l.leak_id, l.leak_type, l.person_id, l.handoff_id, l.owner_id, l.detected_at, l.severity, l.detail,
               nullif({person[0]}, '') as person_name, {person[1]} as person_email,
               {owner[0]} as owner_name, {owner[1]} as owner_email, {handoff} as handed_off_at
        from {marts}.fct_funnel_leaks l
        {"left join " + marts + ".dim_people p on p.person_id = l.person_id" if person[0] != "null" else ""}
        {"left join " + marts + ".dim_owners o on o.owner_id = l.owner_id" if owner[0] != "null" else ""}
        {"left join " + marts + ".fct_handoffs h on h.handoff_id = l.handoff_id" if handoff.startswith("h.") else ""}
        where l.detected_at <= %(as_of)s and l.detected_at > %(since)s
          and not exists (select 1 from quality.digest_sent_leaks s where s.leak_id = l.leak_id)
        order by {rank_sql(leak_types, "l.leak_type")}, l.detected_at, l.leak_id""",
                        {"as_of": as_of, "since": as_of - timedelta(days=lookback_days)})
    columns = [c.name for c in rows.description]
    leaks = [dict(zip(columns, row)) for row in rows.fetchall()]
    for leak in leaks:
        known = leak_types.get(leak["leak_type"])
        leak["label"] = known.label if known else leak["leak_type"]
        leak["meaning"] = known.description if known else None
    return leaks


def leak_line(leak: dict) -> str:
    who = leak.get("person_name") or leak.get("person_email") or f"person {leak['person_id']}"
    if leak.get("person_name") and leak.get("person_email"):
        who = f"{leak['person_name']} ({leak['person_email']})"
    owner = leak.get("owner_name") or leak.get("owner_email") or leak.get("owner_id") or "no owner"
    overdue = leak.get("detail") or leak.get("meaning") or leak["leak_type"]
    when = f", handed off {leak['handed_off_at']:%Y-%m-%d}" if leak.get("handed_off_at") else ""
    label = leak.get("label") or leak["leak_type"]
    escape = slack.escape
    return f"• *{escape(label)}*: {escape(who)}, owner {escape(owner)}: {escape(overdue)}{escape(when)}"


def render_digest(leaks: list[dict], *, as_of: datetime, report_url: str | None = None) -> dict:
    """Slack's incoming-webhook payload: `text` (the fallback and notification line) and `blocks`."""
    day = as_of.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    link = [{"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{report_url}|The night's report>"}]}] \
        if report_url else []
    if not leaks:
        text = f"Baton: no new funnel leaks as of {day}."
        return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}, *link]}
    counts: dict[str, int] = {}
    for leak in leaks:
        label = leak.get("label") or leak["leak_type"]
        counts[label] = counts.get(label, 0) + 1
    tally = ", ".join(f"{n} {label.lower()}" for label, n in counts.items())
    title = f"Baton: {len(leaks)} new funnel leak{'s' if len(leaks) != 1 else ''} as of {day}"
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": slack.escape(tally)}]},
    ]
    sections: list[list[str]] = [[]]
    for line in (leak_line(leak)[:_SECTION_CHARS] for leak in leaks):
        if sections[-1] and len("\n".join([*sections[-1], line])) > _SECTION_CHARS:
            sections.append([])
        sections[-1].append(line)
    kept = sections[:_MAX_SECTIONS]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}} for lines in kept]
    left_out = sum(len(lines) for lines in sections[_MAX_SECTIONS:])
    if left_out:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                       f"…and {left_out} more in marts.fct_funnel_leaks"}]})
    return {"text": f"{title}: {tally}", "blocks": [*blocks, *link]}


def report_link(report_name: str | None) -> str | None:
    """Where readers find the night's HTML report: BATON_REPORT_BASE_URL/<name>, when a base URL is set."""
    base = os.environ.get(REPORT_BASE_URL_ENV)
    return f"{base.rstrip('/')}/{report_name}" if base and report_name else None


def post_digest(warehouse_url: str, *, as_of: datetime, lookback_days: int = 7, marts_schema: str = "marts",
                report_name: str | None = None) -> dict:
    """Build the digest of new leaks and post it; remember what was sent only once it was accepted."""
    from baton.quality.schema import ensure_quality_schema
    from baton.warehouse import connect

    digest_id = uuid.uuid4().hex
    with connect(warehouse_url) as conn:
        ensure_quality_schema(conn)
        conn.commit()
        leaks = new_leaks(conn, as_of=as_of, lookback_days=lookback_days, marts_schema=marts_schema)
        payload = render_digest(leaks, as_of=as_of, report_url=report_link(report_name))
        now = datetime.now(timezone.utc)
        if not slack.configured():
            log.info("digest: %s new leak(s), not sent: %s", len(leaks), slack.not_configured_reason())
            conn.execute("insert into quality.digest_log values (%s, %s, %s, %s, 'not_configured', null)",
                         (digest_id, as_of, now, len(leaks)))
            return {"digest_id": digest_id, "leaks": len(leaks), "status": "not_configured"}
        try:
            where = slack.send(payload)
        except slack.SlackFailed as error:
            conn.execute("insert into quality.digest_log values (%s, %s, %s, %s, 'failed', %s)",
                         (digest_id, as_of, now, len(leaks), str(error)))
            conn.commit()
            raise DigestFailed(f"digest not sent: {error}") from None
        conn.execute("insert into quality.digest_log values (%s, %s, %s, %s, 'sent', null)",
                     (digest_id, as_of, now, len(leaks)))
        with conn.cursor() as cursor:
            cursor.executemany("insert into quality.digest_sent_leaks values (%s, %s, %s) on conflict do nothing",
                               [(leak["leak_id"], digest_id, now) for leak in leaks])
    log.info("digest: %s new leak(s) posted to %s", len(leaks), where)
    return {"digest_id": digest_id, "leaks": len(leaks), "status": "sent"}
