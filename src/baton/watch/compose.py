"""What a task says: a subject that names what is overdue, a body with the context the rep lacks.

Every sentence comes from the watch's models (baton.watch.models.Breach): the leak's own detail,
its type's label and meaning with the thresholds in force, how the person found the company
(original channel and source), their last marketing touches with dates and campaigns, the
account and whether it is a customer, the context fields missing on the record. The last line
carries the idempotency key, so a task whose creation was never confirmed is found again by it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime

from baton.watch.models import Breach

KEY_LABEL = "Baton key:"
SUBJECT_LIMIT = 255  # Salesforce Task.Subject; HubSpot accepts longer


@dataclass(frozen=True)
class TaskDraft:
    """One task to write, vendor-neutral."""

    key: str
    subject: str
    lines: tuple[str, ...]
    due_date: date            # the business day in progress (or the next one)
    due_at: datetime          # that day's close
    owner_source_id: str
    record_id: str
    record_object: str | None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def html(self) -> str:
        return "<br>".join(html.escape(line) for line in self.lines)


def key_line(key: str) -> str:
    return f"{KEY_LABEL} {key}"


def _when(instant: datetime | None) -> str:
    return "" if instant is None else f"{instant:%a %d %b %Y %H:%M} UTC"


def subject(breach: Breach, prefix: str) -> str:
    company = breach.company or breach.account_name
    text = f"{prefix} {breach.label}: {breach.person}{f' ({company})' if company else ''}"
    return text if len(text) <= SUBJECT_LIMIT else text[:SUBJECT_LIMIT - 1] + "…"


def body_lines(breach: Breach) -> list[str]:
    who = breach.person + (f" <{breach.email}>" if breach.email and breach.email not in breach.person else "")
    role = ", ".join(part for part in (breach.title, breach.company or breach.account_name) if part)
    lines = [f"{who}{f' ({role})' if role else ''} is waiting for a first sales touch.",
             breach.detail,
             f"Why this task ({breach.label.lower()}): {breach.meaning}."]
    if breach.sla_due_at is not None:
        lines.append(f"Handed off {_when(breach.handed_off_at)}; the response SLA ran out {_when(breach.sla_due_at)}.")
    lines.append("")
    found = breach.original_channel or breach.original_source
    if found:
        source = f" ({breach.original_source})" if breach.original_channel and breach.original_source else ""
        lines.append(f"How they found us: {found}{source}")
    else:
        lines.append("How they found us: not recorded")
    if breach.touches:
        lines.append("Last marketing touches:")
        for touch in breach.touches:
            detail = ", ".join(part for part in (
                touch.touch_type.replace("_", " "), touch.channel and touch.channel.replace("_", " "),
                touch.campaign and f'campaign "{touch.campaign}"', touch.source_system) if part)
            lines.append(f"- {touch.touched_at:%Y-%m-%d %H:%M} UTC: {detail}")
    else:
        lines.append("Last marketing touches: none recorded")
    if not breach.has_account:
        lines.append("Account: none known")
    elif breach.customer_since is not None:
        lines.append(f"Account: {breach.account_name or 'unnamed'}, a customer since {breach.customer_since:%Y-%m-%d}")
    else:
        lines.append(f"Account: {breach.account_name or 'unnamed'}, not a customer")
    if breach.missing_context:
        lines.append("Missing on this record: " + ", ".join(name.replace("_", " ") for name in breach.missing_context))
    if breach.record_url:
        lines.append(f"Record: {breach.record_url}")
    lines += ["", "Written by Baton's SLA watch: this task is a reminder, not a sales touch; log your call or email"
              " as usual.", key_line(breach.key)]
    return lines


def draft(breach: Breach, *, prefix: str, due_date: date, due_at: datetime) -> TaskDraft:
    return TaskDraft(key=breach.key, subject=subject(breach, prefix), lines=tuple(body_lines(breach)),
                     due_date=due_date, due_at=due_at, owner_source_id=str(breach.owner_source_id),
                     record_id=str(breach.crm_record_id), record_object=breach.crm_object)
