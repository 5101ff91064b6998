"""`baton report --html PATH`: the leak report as one self-contained HTML file.

    write_html_report(warehouse_url, path, *, as_of=None, period_days=28) -> HtmlReport

Built from the published marts (the same definitions as the metrics of the semantic layer,
dbt_project/models/semantic/; each view has a saved query there). The file opens offline:
plotly's JavaScript is inlined once, no CDN, no web font, no image fetched.

The period is the `period_days` before as-of, compared with the `period_days` before that.
As-of defaults to the latest instant in the marts (a nightly run passes its own). A handoff
belongs to the period of handed_off_at, a leak to that of its handoff (its detection when it
has none), like the metrics' metric_time.

Links to CRM records: set `BATON_SALESFORCE_INSTANCE_URL` (https://acme.my.salesforce.com),
`BATON_HUBSPOT_PORTAL_ID` (the hub id), `BATON_MARKETO_INSTANCE_URL` (https://app-ab12.marketo.com),
or the extras `instance_url` / `portal_id` / `instance_url` of the Airflow connections
salesforce_default / hubspot_default / marketo_default. Without them records show their ids.
"""

from __future__ import annotations

import html
import logging
import math
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

log = logging.getLogger("baton.notify.html_report")

DEFAULT_PERIOD_DAYS = 28
TREND_WEEKS = 26
RESPONSE_BUCKETS = (  # (key, label, upper bound in business minutes, inclusive)
    ("within_1h", "within 1 business hour", 60),
    ("1h_to_8h", "1–8 business hours", 480),
    ("8h_to_40h", "8–40 business hours", 2400),
    ("over_40h", "over 40 business hours", None),
    ("never", "never touched", None),
)
SEVERITY_ORDER = "case l.severity when 'high' then 1 when 'medium' then 2 else 3 end"
LINK_SETTINGS = {
    # system: (environment variable, Airflow connection, extra key)
    "salesforce": ("BATON_SALESFORCE_INSTANCE_URL", "salesforce_default", "instance_url"),
    "hubspot": ("BATON_HUBSPOT_PORTAL_ID", "hubspot_default", "portal_id"),
    "marketo": ("BATON_MARKETO_INSTANCE_URL", "marketo_default", "instance_url"),
}
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]


@dataclass
class HtmlReport:
    path: Path
    as_of: datetime
    period_start: datetime
    seconds: float
    charts: int
    headline: dict = field(default_factory=dict)


# -- formatting for people -----------------------------------------------------------------------

def fmt_int(value) -> str:
    return "–" if value is None else f"{int(value):,}"


def fmt_pct(value, digits: int = 0) -> str:
    return "–" if value is None else f"{float(value) * 100:.{digits}f}%"


def fmt_money(value) -> str:
    if value is None:
        return "–"
    value = float(value)
    if abs(value) >= 1_000_000:
        return f"${value / 1_000_000:,.1f}M"
    if abs(value) >= 10_000:
        return f"${value / 1_000:,.0f}k"
    return f"${value:,.0f}"


def fmt_hours(minutes) -> str:
    return "–" if minutes is None else f"{float(minutes) / 60:,.1f} h"


def fmt_day(value) -> str:
    return "–" if value is None else f"{value:%d %b %Y}"


def wilson_interval(successes: int, total: int, z: float = 1.959964) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (95% by default); None without observations."""
    if not total:
        return None
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _e(text) -> str:
    return html.escape("" if text is None else str(text))


# -- CRM links -----------------------------------------------------------------------------------

def crm_link_settings(env=None) -> dict[str, str]:
    """{system: instance URL or portal id} from the environment, else the Airflow connections' extras."""
    env = os.environ if env is None else env
    from baton.connections import get_connection

    settings = {}
    for system, (variable, conn_id, key) in LINK_SETTINGS.items():
        value = env.get(variable)
        if not value:
            connection = get_connection(conn_id, env)
            value = (connection.extra or {}).get(key) if connection else None
        if not value and env is os.environ:
            value = _airflow_extra(conn_id, key)
        if value:
            settings[system] = str(value).rstrip("/")
    return settings


def _airflow_extra(conn_id: str, key: str):
    if "AIRFLOW_HOME" not in os.environ:
        return None
    try:
        from airflow.sdk import Connection

        return (Connection.get(conn_id).extra_dejson or {}).get(key)
    except Exception:  # no Airflow context or no such connection: no links
        return None


def crm_record_url(settings: dict[str, str], system: str | None, source_object: str | None,
                   source_id: str | None) -> str | None:
    if not system or not source_id or system not in settings:
        return None
    base = settings[system]
    if system == "salesforce":
        return f"{base}/lightning/r/{source_object or 'Lead'}/{source_id}/view"
    if system == "hubspot":
        return f"https://app.hubspot.com/contacts/{base}/record/0-1/{source_id}"
    if system == "marketo":
        return f"{base}/leadDatabase/loadLeadDetail?leadId={source_id}"
    return None


def _record_cell(settings, system, source_object, source_id) -> str:
    if not source_id:
        return "–"
    label = f"{system} {source_object} {source_id}"
    url = crm_record_url(settings, system, source_object, source_id)
    if url:
        return f'<a href="{_e(url)}" target="_blank" rel="noopener">{_e(label)}</a>'
    return _e(label)


# -- the data --------------------------------------------------------------------------------------

def _exists(conn, relation: str) -> bool:
    return bool(conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()[0])


def default_as_of(conn) -> datetime:
    """The latest instant the marts know of (context_stripped leaks are detected at the run's as-of)."""
    row = conn.execute("""
        select greatest((select max(handed_off_at) from marts.fct_handoffs),
                        (select max(detected_at) from marts.fct_funnel_leaks))""").fetchone()
    return row[0] or datetime.now(timezone.utc)


HEADLINE_SQL = """
    select count(*) as handoffs,
           count(first_sales_touch_at) as touched,
           percentile_cont(0.5) within group (order by response_business_minutes) as median_response_business_minutes,
           count(*) filter (where is_sla_breached) as sla_breached,
           count(*) filter (where is_black_hole) as black_holes
    from marts.fct_handoffs
    where handed_off_at > %(start)s and handed_off_at <= %(end)s"""

PIPELINE_AT_RISK_SQL = """
    with leaking_accounts as (
        select distinct account_id from marts.fct_funnel_leaks
        where coalesce(handed_off_at, detected_at) > %(start)s and coalesce(handed_off_at, detected_at) <= %(end)s
          and account_id is not null
    )
    select coalesce(sum(o.amount), 0)
    from marts.fct_opportunities as o
    join leaking_accounts using (account_id)
    where o.created_at <= %(end)s and (o.closed_at is null or o.closed_at > %(end)s)"""

LEAKS_BY_TYPE_SQL = """
    select leak_type, count(*), count(*) filter (where severity = 'high')
    from marts.fct_funnel_leaks
    where coalesce(handed_off_at, detected_at) > %(start)s and coalesce(handed_off_at, detected_at) <= %(end)s
    group by leak_type"""


def headline(conn, start: datetime, end: datetime) -> dict:
    params = {"start": start, "end": end}
    row = conn.execute(HEADLINE_SQL, params).fetchone()
    handoffs, touched, median, breached, black_holes = row
    pipeline = conn.execute(PIPELINE_AT_RISK_SQL, params).fetchone()[0] \
        if _exists(conn, "marts.fct_opportunities") else None
    return {
        "handoffs": handoffs,
        "touched_share": touched / handoffs if handoffs else None,
        "median_response_business_minutes": float(median) if median is not None else None,
        "sla_breach_rate": breached / handoffs if handoffs else None,
        "black_holes": black_holes,
        "pipeline_at_risk": float(pipeline) if pipeline is not None else None,
    }


def _rows(conn, sql: str, params=None) -> list[tuple]:
    return conn.execute(sql, params or {}).fetchall()


# -- charts ----------------------------------------------------------------------------------------

class Charts:
    def __init__(self):
        self.count = 0

    def figure(self, fig, title: str, guide: str, *, height: int = 380) -> str:
        """A chart with its title (what it shows) and a one-line reading guide."""
        self.count += 1
        fig.update_layout(title={"text": title, "font": {"size": 15}}, height=height, margin={"l": 60, "r": 20, "t": 50,
                          "b": 50}, font={"family": "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"},
                          template="plotly_white", legend={"orientation": "h", "y": -0.2})
        body = fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{self.count}",
                           config={"displayModeBar": False, "responsive": True})
        # The title is drawn in the chart; the caption carries the reading guide.
        return (f'<figure class="chart" data-chart="{self.count}" data-title="{_e(title)}">'
                f'<figcaption><span class="guide">{_e(guide)}</span></figcaption>{body}</figure>')


def _empty(text: str) -> str:
    return f'<p class="empty">{_e(text)}</p>'


def _table(headers: list[str], rows: list[list[str]], *, cls: str = "", row_attrs: list[str] | None = None) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        attrs = f" {row_attrs[index]}" if row_attrs else ""
        body.append(f"<tr{attrs}>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _change(current, previous, kind: str) -> str:
    if current is None or previous is None:
        return '<span class="change">no previous value</span>'
    delta = current - previous
    if kind == "pct":
        text = f"{delta * 100:+.1f} pts"
    elif kind == "hours":
        text = f"{delta / 60:+.1f} h"
    elif kind == "money":
        text = ("+" if delta >= 0 else "−") + fmt_money(abs(delta))
    else:
        text = f"{delta:+,.0f}"
    if previous and kind in ("int", "money"):
        text += f" ({delta / previous:+.0%})"
    return f'<span class="change">{_e(text)} vs previous period</span>'


# -- the page --------------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:18px 32px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#c9cfdb}
main{padding:16px 32px;max-width:1400px}section{background:#fff;border-radius:8px;padding:16px 20px;margin:16px 0;
box-shadow:0 1px 2px rgba(0,0,0,.08)}h2{font-size:18px;margin:0 0 4px}p.lead{margin:0 0 12px;color:#4a5263}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(190px,1fr));gap:12px}.kpi{border:1px solid #e3e6ec;
border-radius:8px;padding:12px}.kpi .label{font-size:13px;color:#4a5263}.kpi .value{font-size:26px;font-weight:600;margin:4px 0}
.kpi .change{font-size:12px;color:#4a5263}.grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px}
@media (max-width:1000px){.grid2{grid-template-columns:1fr}}figure.chart{margin:8px 0}
figcaption strong{display:block;font-size:14px}
figcaption .guide{display:block;font-size:13px;color:#4a5263;margin-bottom:4px}table{border-collapse:collapse;font-size:13px;
width:100%;margin:8px 0}th,td{border-bottom:1px solid #e3e6ec;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f5}td.num,th.num{text-align:right}.empty{color:#8a4b00;background:#fff6e5;padding:8px 12px;border-radius:6px}
.note{font-size:12px;color:#4a5263}
"""


def write_html_report(warehouse_url: str, path: str | Path, *, as_of: datetime | None = None,
                      period_days: int = DEFAULT_PERIOD_DAYS) -> HtmlReport:
    """Write the HTML report of the marts in the warehouse to `path` (one self-contained file)."""
    from plotly.offline import get_plotlyjs

    from baton.warehouse import connect

    started = time.monotonic()
    with connect(warehouse_url) as conn:
        if not (_exists(conn, "marts.fct_handoffs") and _exists(conn, "marts.fct_funnel_leaks")):
            raise RuntimeError("no funnel marts yet - run `baton demo` or `baton run` first")
        as_of = as_of or default_as_of(conn)
        if as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=timezone.utc)
        period = timedelta(days=period_days)
        start, previous_start = as_of - period, as_of - 2 * period
        charts = Charts()
        current = headline(conn, start, as_of)
        previous = headline(conn, previous_start, start)
        sections = [
            _headline_section(current, previous, start, as_of, period_days),
            _leak_sections(conn, charts, start, as_of, previous_start, current["handoffs"]),
            _speed_section(conn, charts, start, as_of),
            _funnel_section(conn, charts, as_of),
            _attribution_section(conn, charts),
            _lead_quality_section(conn, charts),
            _records_section(conn, charts, crm_link_settings()),
        ]
    title = f"Baton funnel report · {period_days} days to {fmt_day(as_of)}"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{CSS}</style>
<script type="text/javascript">{get_plotlyjs()}</script></head>
<body><header><h1>Baton funnel report</h1>
<p>Period: {_e(fmt_day(start))} – {_e(fmt_day(as_of))} ({period_days} days to as-of {as_of:%Y-%m-%d %H:%M} UTC),
compared with the {period_days} days before. Built from the warehouse's marts; every number has one definition
(docs/warehouse.md, the metrics in dbt_project/models/semantic/).</p></header>
<main>{"".join(sections)}</main></body></html>"""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    seconds = round(time.monotonic() - started, 2)
    log.info("HTML report: %s (%d charts, %d bytes) in %.1fs", out, charts.count, out.stat().st_size, seconds)
    return HtmlReport(path=out, as_of=as_of, period_start=start, seconds=seconds, charts=charts.count, headline=current)


def _headline_section(current: dict, previous: dict, start, end, period_days: int) -> str:
    if not current["handoffs"]:
        return (f'<section id="headline"><h2>Headline</h2>'
                f'{_empty(f"No handoffs between {fmt_day(start)} and {fmt_day(end)}: nobody reached mql in this period.")}'
                f'</section>')
    cards = [
        ("handoffs", "Handoffs", fmt_int, "int"),
        ("touched_share", "Touched by sales", fmt_pct, "pct"),
        ("median_response_business_minutes", "Median speed-to-lead (business hours)", fmt_hours, "hours"),
        ("sla_breach_rate", "SLA breach rate", fmt_pct, "pct"),
        ("black_holes", "Black holes", fmt_int, "int"),
        ("pipeline_at_risk", "Pipeline at risk", fmt_money, "money"),
    ]
    html_cards = []
    for key, label, fmt, kind in cards:
        value = current[key]
        raw = "" if value is None else repr(round(float(value), 6))
        html_cards.append(f'<div class="kpi" data-kpi="{key}" data-value="{raw}"><div class="label">{_e(label)}</div>'
                          f'<div class="value">{_e(fmt(value))}</div>{_change(value, previous[key], kind)}</div>')
    return (f'<section id="headline"><h2>Headline</h2><p class="lead">Handoffs in the {period_days} days to '
            f'{_e(fmt_day(end))}, against the {period_days} days before. Pipeline at risk: open opportunity amount, '
            f'at the end of each period, of the accounts with a leak in it. Speed-to-lead counts only touched '
            f'handoffs; read it next to black holes.</p><div class="kpis">{"".join(html_cards)}</div></section>')


def _leak_sections(conn, charts: Charts, start, end, previous_start, handoffs: int) -> str:
    import plotly.graph_objects as go

    from baton.notify.leak_types import read_leak_types

    leak_types = read_leak_types(conn)
    now = {row[0]: row[1:] for row in _rows(conn, LEAKS_BY_TYPE_SQL, {"start": start, "end": end})}
    before = {row[0]: row[1:] for row in _rows(conn, LEAKS_BY_TYPE_SQL, {"start": previous_start, "end": start})}
    rows, attrs = [], []
    for name, kind in leak_types.items():
        count, high = now.get(name, (0, 0))
        rows.append([_e(kind.label if hasattr(kind, "label") else name), f'<span class="count">{fmt_int(count)}</span>',
                     fmt_pct(count / handoffs, 1) if handoffs else "–", fmt_int(high),
                     fmt_int(before.get(name, (0, 0))[0]), _e(kind.description)])
        attrs.append(f'data-leak-type="{_e(name)}" data-count="{count}"')
    table = _table(["leak type", "leaks", "per handoff", "high severity", "previous period", "meaning"], rows,
                   cls="leak-types", row_attrs=attrs)

    weekly = _rows(conn, """
        select date_trunc('week', coalesce(handed_off_at, detected_at) at time zone 'UTC')::date as week, leak_type, count(*)
        from marts.fct_funnel_leaks
        where coalesce(handed_off_at, detected_at) > %(since)s and coalesce(handed_off_at, detected_at) <= %(end)s
        group by 1, 2 order by 1, 2""", {"since": end - timedelta(weeks=TREND_WEEKS), "end": end})
    if weekly:
        fig = go.Figure()
        for index, name in enumerate(leak_types):
            points = [(week, count) for week, kind, count in weekly if kind == name]
            if points:
                fig.add_bar(x=[p[0] for p in points], y=[p[1] for p in points], name=name,
                            marker_color=PALETTE[index % len(PALETTE)])
        fig.update_layout(barmode="stack", xaxis_title="week (Monday, UTC)", yaxis_title="leaks")
        trend = charts.figure(fig, f"Leaks by type and week, last {TREND_WEEKS} weeks",
                              "Each bar is one week's leaks, stacked by type; a rising band is a leak getting worse. "
                              "The latest weeks grow as black holes and slow responses ripen.")
    else:
        trend = _empty(f"No leaks in the {TREND_WEEKS} weeks to {fmt_day(end)}.")

    params = {"start": start, "end": end}
    team_rows = _rows(conn, """
        with leaks as (
            select coalesce(o.team, 'unassigned') as team, count(*) as leaks
            from marts.fct_funnel_leaks as l left join marts.dim_owners as o using (owner_id)
            where coalesce(l.handed_off_at, l.detected_at) > %(start)s and coalesce(l.handed_off_at, l.detected_at) <= %(end)s
            group by 1
        ),
        handoffs as (
            select coalesce(o.team, 'unassigned') as team, count(*) as handoffs
            from marts.fct_handoffs as h left join marts.dim_owners as o using (owner_id)
            where h.handed_off_at > %(start)s and h.handed_off_at <= %(end)s
            group by 1
        )
        select team, coalesce(leaks, 0), coalesce(handoffs, 0)
        from leaks full join handoffs using (team) order by 2 desc, 1""", params)
    owner_rows = _rows(conn, """
        with leaks as (  -- '' stands for no owner, so leaks and handoffs without one meet in the join
            select coalesce(owner_id, '') as owner_id, count(*) as leaks from marts.fct_funnel_leaks
            where coalesce(handed_off_at, detected_at) > %(start)s and coalesce(handed_off_at, detected_at) <= %(end)s
            group by 1
        ),
        handoffs as (
            select coalesce(owner_id, '') as owner_id, count(*) as handoffs from marts.fct_handoffs
            where handed_off_at > %(start)s and handed_off_at <= %(end)s group by 1
        )
        select coalesce(o.name, '(no owner)'), coalesce(o.team, 'unassigned'), coalesce(leaks, 0), coalesce(handoffs, 0)
        from leaks full join handoffs using (owner_id)
        left join marts.dim_owners as o using (owner_id)
        order by 3 desc, 1 limit 20""", params)
    if team_rows:
        rated = [(team, leaks, h) for team, leaks, h in team_rows if h]
        fig = go.Figure(go.Bar(x=[r[2] and r[1] / r[2] for r in rated], y=[r[0] for r in rated], orientation="h",
                               text=[f"{r[1]:,} leaks / {r[2]:,} handoffs" for r in rated], textposition="auto",
                               marker_color=PALETTE[0]))
        fig.update_layout(xaxis_title="leaks per handoff", yaxis={"autorange": "reversed"})
        team_chart = charts.figure(fig, "Leaks per handoff by team, this period",
                                   "Longer bars leak more per lead received; a team with few handoffs can look "
                                   "extreme, so read the counts on the bars.", height=320)
        owner_rated = [r for r in owner_rows if r[3]]
        fig = go.Figure(go.Bar(x=[r[2] / r[3] for r in owner_rated], y=[f"{r[0]} ({r[1]})" for r in owner_rated],
                               orientation="h", text=[f"{r[2]:,} / {r[3]:,}" for r in owner_rated],
                               textposition="auto", marker_color=PALETTE[1]))
        fig.update_layout(xaxis_title="leaks per handoff", yaxis={"autorange": "reversed"})
        owner_chart = charts.figure(fig, "Leaks per handoff by owner (the 20 owners with most leaks)",
                                    "Each bar is one owner's leaks over the handoffs they received; owners who only "
                                    "touched others' leads (duplicate outreach) have no handoffs and are left out.",
                                    height=520)
        owner_table = _table(["owner", "team", "leaks", "handoffs", "leaks per handoff"],
                             [[_e(n), _e(t), fmt_int(lk), fmt_int(h), f"{lk / h:.2f}" if h else "–"]
                              for n, t, lk, h in owner_rows])
        rates = f'<div class="grid2"><div>{team_chart}</div><div>{owner_chart}</div></div>{owner_table}'
    else:
        rates = _empty("No leaks and no handoffs in this period.")
    return (f'<section id="leaks"><h2>Leaks by type</h2><p class="lead">Leaks whose handoff (or, without one, '
            f'detection) falls in the period; a handoff can leak several ways. Per handoff = leaks / the '
            f'period\'s handoffs.</p>{table}{trend}</section>'
            f'<section id="leak-rates"><h2>Leaks by team and owner</h2><p class="lead">The rate per handoff '
            f'(metric leak_rate_per_handoff, by owner__team and owner__name).</p>{rates}</section>')


def _speed_section(conn, charts: Charts, start, end) -> str:
    import plotly.graph_objects as go

    hours = [row[0] for row in _rows(conn, """
        select response_business_minutes / 60.0 from marts.fct_handoffs
        where handed_off_at > %(start)s and handed_off_at <= %(end)s and response_business_minutes is not null""",
                                     {"start": start, "end": end})]
    never = _rows(conn, """select count(*) from marts.fct_handoffs
                           where handed_off_at > %(start)s and handed_off_at <= %(end)s and first_sales_touch_at is null""",
                  {"start": start, "end": end})[0][0]
    if hours:
        capped = [min(float(h), 80.0) for h in hours]
        fig = go.Figure(go.Histogram(x=capped, xbins={"start": 0, "end": 80, "size": 2}, marker_color=PALETTE[0]))
        fig.update_layout(xaxis_title="business hours to the first sales touch (80 = 80 or more)",
                          yaxis_title="handoffs", bargap=0.05)
        fig.add_vline(x=8, line_dash="dash", line_color="#d62728", annotation_text="SLA 8 h")
        distribution = charts.figure(fig, "Speed-to-lead of this period's touched handoffs",
                                     f"Bars left of the red line met the SLA; {never:,} handoffs of the period have no "
                                     "sales touch yet and are not drawn.")
    else:
        distribution = _empty("No handoff of this period has been touched by sales yet.")

    buckets = conversion_by_response_bucket(conn, end)
    rows, attrs = [], []
    for key, label, _ in RESPONSE_BUCKETS:
        total, converted = buckets.get(key, (0, 0))
        interval = wilson_interval(converted, total)
        rows.append([_e(label), fmt_int(total), fmt_int(converted), fmt_pct(converted / total, 1) if total else "–",
                     f"{fmt_pct(interval[0], 1)} – {fmt_pct(interval[1], 1)}" if interval else "–"])
        attrs.append(f'data-bucket="{key}" data-handoffs="{total}" data-converted="{converted}"'
                     + (f' data-low="{interval[0]:.6f}" data-high="{interval[1]:.6f}"' if interval else ""))
    shown = [(label, *buckets[key]) for key, label, _ in RESPONSE_BUCKETS if buckets.get(key, (0, 0))[0]]
    if shown:
        rates = [c / t for _, t, c in shown]
        intervals = [wilson_interval(c, t) for _, t, c in shown]
        fig = go.Figure(go.Bar(x=[s[0] for s in shown], y=rates, marker_color=PALETTE[2],
                               text=[f"{r:.0%} of {t:,}" for r, (_, t, _c) in zip(rates, shown)], textposition="outside",
                               error_y={"type": "data", "symmetric": False,
                                        "array": [hi - r for r, (_lo, hi) in zip(rates, intervals)],
                                        "arrayminus": [r - lo for r, (lo, _hi) in zip(rates, intervals)]}))
        fig.update_layout(yaxis={"title": "handoffs converted (reached sql or beyond)", "tickformat": ".0%"},
                          xaxis_title="time to the first sales touch")
        conversion = charts.figure(fig, "Conversion rate by speed-to-lead, every handoff to as-of",
                                   "Taller bars convert more; the whiskers are 95% Wilson intervals - where two "
                                   "whiskers overlap the data cannot tell the buckets apart.")
    else:
        conversion = _empty("No handoffs to as-of.")
    table = _table(["first sales touch", "handoffs", "converted", "conversion rate", "95% interval (Wilson)"], rows,
                   cls="response-buckets", row_attrs=attrs)
    return (f'<section id="speed"><h2>Speed-to-lead and what it is worth</h2><p class="lead">The organisation\'s own '
            f'conversion rate by how fast sales first touched the lead (business hours), over every handoff to '
            f'as-of; "never" includes recent handoffs still waiting.</p><div class="grid2"><div>{distribution}</div>'
            f'<div>{conversion}</div></div>{table}</section>')


def conversion_by_response_bucket(conn, as_of) -> dict[str, tuple[int, int]]:
    """{bucket: (handoffs, converted)} over every handoff up to as-of."""
    sql = """
        select case when response_business_minutes is null then 'never'
                    when response_business_minutes <= 60 then 'within_1h'
                    when response_business_minutes <= 480 then '1h_to_8h'
                    when response_business_minutes <= 2400 then '8h_to_40h'
                    else 'over_40h' end as bucket,
               count(*), count(*) filter (where outcome = 'converted')
        from marts.fct_handoffs where handed_off_at <= %(end)s group by 1"""
    return {bucket: (total, converted) for bucket, total, converted in _rows(conn, sql, {"end": as_of})}


def _funnel_section(conn, charts: Charts, as_of) -> str:
    import plotly.graph_objects as go

    if not _exists(conn, "marts.rpt_funnel_conversion"):
        return ""
    rows = _rows(conn, """
        select cohort_month, channel, sum(people), sum(reached_mql), sum(reached_sal), sum(reached_sql),
               sum(reached_opportunity), sum(reached_customer)
        from marts.rpt_funnel_conversion
        where cohort_month <= %(end)s and cohort_month > (%(end)s::timestamptz - interval '12 months')
        group by 1, 2 order by 1, 2""", {"end": as_of})
    if not rows:
        return (f'<section id="funnel"><h2>Funnel by cohort month and channel</h2>'
                f'{_empty(f"No cohort entered the funnel in the 12 months to {fmt_day(as_of)}.")}</section>')
    months = sorted({r[0] for r in rows})
    channels = sorted({r[1] for r in rows})
    fig = go.Figure()
    for index, channel in enumerate(channels):
        points = [(r[0], r[5] / r[3], f"{r[5]:,} of {r[3]:,} mql people") for r in rows if r[1] == channel and r[3]]
        if points:
            fig.add_bar(x=[p[0] for p in points], y=[p[1] for p in points], name=channel, hovertext=[p[2] for p in points],
                        marker_color=PALETTE[index % len(PALETTE)])
    fig.update_layout(barmode="group", yaxis={"title": "mql → sql", "tickformat": ".0%"}, xaxis_title="cohort month")
    by_channel = charts.figure(fig, "MQL → SQL conversion by cohort month and channel, last 12 months",
                               "Each bar is the share of a month's mql people (by original channel) who reached sql; "
                               "the latest cohorts are young and still converting.")
    stages = ["people", "mql", "sal", "sql", "opportunity", "customer"]
    fig = go.Figure()
    for index, stage in enumerate(stages):
        fig.add_scatter(x=months, y=[sum(r[2 + index] for r in rows if r[0] == m) for m in months], name=stage,
                        mode="lines+markers", line={"color": PALETTE[index]})
    fig.update_layout(yaxis_title="people", xaxis_title="cohort month")
    stage_chart = charts.figure(fig, "People reaching each stage, by cohort month",
                                "Each line is a stage; the gap between two lines is the people lost between them.")
    totals = {}
    for r in rows:
        t = totals.setdefault(r[1], [0] * 6)
        for i in range(6):
            t[i] += r[2 + i]
    table = _table(["channel", "people", "mql", "sal", "sql", "opportunity", "customer", "mql → sql"],
                   [[_e(c), *[fmt_int(v) for v in t], fmt_pct(t[3] / t[1], 1) if t[1] else "–"]
                    for c, t in sorted(totals.items(), key=lambda kv: -kv[1][0])])
    return (f'<section id="funnel"><h2>Funnel by cohort month and channel</h2><p class="lead">Cohort = the month a '
            f'person entered the funnel (the 12 cohorts to as-of); reaching a stage = reaching it or a later one (metric '
            f'mql_to_sql_conversion_rate).</p><div class="grid2"><div>{by_channel}</div><div>{stage_chart}</div></div>'
            f'{table}</section>')


def _attribution_section(conn, charts: Charts) -> str:
    import plotly.graph_objects as go

    if not _exists(conn, "marts.fct_attribution"):
        return ""
    rows = _rows(conn, """
        select model, coalesce(channel, 'unknown'), sum(pipeline_credit), sum(revenue_credit)
        from marts.fct_attribution group by 1, 2 order by 1, 2""")
    if not rows:
        return (f'<section id="attribution"><h2>Attribution by channel and model</h2>'
                f'{_empty("No opportunity has a marketing touch in its window yet.")}</section>')
    models = ["first_touch", "last_touch", "linear", "u_shaped", "w_shaped", "full_path", "time_decay"]
    models = [m for m in models if any(r[0] == m for r in rows)] + sorted({r[0] for r in rows} - set(models))
    channels = sorted({r[1] for r in rows}, key=lambda c: -sum(float(r[2] or 0) for r in rows if r[1] == c))
    parts = []
    for column, label in ((2, "pipeline"), (3, "revenue")):
        fig = go.Figure()
        for index, model in enumerate(models):
            values = {r[1]: float(r[column] or 0) for r in rows if r[0] == model}
            fig.add_bar(x=channels, y=[values.get(c, 0) for c in channels], name=model,
                        marker_color=PALETTE[index % len(PALETTE)])
        fig.update_layout(barmode="group", yaxis={"title": f"attributed {label}", "tickprefix": "$", "tickformat": "~s"})
        parts.append(charts.figure(fig, f"Attributed {label} by channel under each model",
                                   "Bars of one channel side by side compare the models; a channel whose bars differ "
                                   "a lot depends on where in the journey it sits. Never add models together."))
    return (f'<section id="attribution"><h2>Attribution by channel and model</h2><p class="lead">Every opportunity '
            f'to as-of, credit shared among its marketing touches (metrics attributed_pipeline and attributed_revenue '
            f'by attribution__model and attribution__channel).</p><div class="grid2"><div>{parts[0]}</div>'
            f'<div>{parts[1]}</div></div></section>')


def _lead_quality_section(conn, charts: Charts) -> str:
    import plotly.graph_objects as go

    if not _exists(conn, "marts.rpt_lead_quality_by_source"):
        return ""
    by_source = _rows(conn, """
        select source, sum(handoffs), sum(accepted), sum(converted), sum(disqualified), sum(black_holed)
        from marts.rpt_lead_quality_by_source group by 1 order by 2 desc""")
    if not by_source:
        return f'<section id="lead-quality"><h2>Lead quality by source and campaign</h2>{_empty("No handoffs yet.")}</section>'
    fig = go.Figure()
    for index, (label, column) in enumerate((("accepted", 2), ("converted", 3), ("disqualified", 4), ("black-holed", 5))):
        fig.add_bar(x=[r[0] for r in by_source], y=[r[column] / r[1] if r[1] else 0 for r in by_source], name=label,
                    marker_color=PALETTE[[2, 0, 3, 7][index]])
    fig.update_layout(barmode="group", yaxis={"title": "share of the source's handoffs", "tickformat": ".0%"})
    chart = charts.figure(fig, "What happened to each source's handoffs",
                          "For each original source, the share of its handoffs sales accepted, converted, "
                          "disqualified or never touched; the feedback loop to marketing.")
    campaigns = _rows(conn, """
        select source, coalesce(campaign_name, campaign_id), sum(handoffs), sum(accepted), sum(converted),
               sum(disqualified), sum(black_holed)
        from marts.rpt_lead_quality_by_source group by 1, 2 order by 3 desc, 1, 2 limit 25""")
    table = _table(["source", "campaign", "handoffs", "accepted", "converted", "disqualified", "black-holed",
                    "conversion"],
                   [[_e(s), _e(c), fmt_int(h), fmt_int(a), fmt_int(cv), fmt_int(d), fmt_int(b),
                     fmt_pct(cv / h, 1) if h else "–"] for s, c, h, a, cv, d, b in campaigns])
    return (f'<section id="lead-quality"><h2>Lead quality by source and campaign</h2><p class="lead">Every handoff '
            f'to as-of, by the person\'s original source and the campaign of the last marketing touch before the '
            f'handoff (the 25 campaigns with most handoffs).</p>{chart}{table}</section>')


def _records_section(conn, charts: Charts, links: dict[str, str]) -> str:
    import plotly.graph_objects as go

    if _exists(conn, "quality.lead_context_flags"):
        flags_sql = """select f.field_name, coalesce(o.name, '(no owner)') from quality.lead_context_flags as f
                       left join marts.dim_owners as o using (owner_id)"""
        origin = "quality.lead_context_flags"
    else:
        flags_sql = """select trim(field_name), coalesce(o.name, '(no owner)') from marts.fct_handoffs as h
                       cross join lateral unnest(string_to_array(h.missing_context_fields, ',')) as field_name
                       left join marts.dim_owners as o using (owner_id) where h.missing_context_field_count > 0"""
        origin = "marts.fct_handoffs.missing_context_fields (the same rule; the quality gate has not run here)"
    flags = _rows(conn, flags_sql)
    parts = []
    if flags:
        fields = sorted({f for f, _ in flags}, key=lambda f: -sum(1 for x, _ in flags if x == f))
        owners = sorted({o for _, o in flags}, key=lambda o: -sum(1 for _, x in flags if x == o))[:len(PALETTE)]
        fig = go.Figure()
        for index, owner in enumerate(owners):
            fig.add_bar(x=fields, y=[sum(1 for f, o in flags if f == field and o == owner) for field in fields],
                        name=owner, marker_color=PALETTE[index % len(PALETTE)])
        fig.update_layout(barmode="stack", yaxis_title="handoffs missing the field")
        parts.append(charts.figure(fig, f"Missing context by field and owner (the {len(owners)} owners with most flags)",
                                   "Each bar is a field reps need on the CRM record; the colours show whose records "
                                   "to fix first."))
        parts.append(f'<p class="note">Source: {_e(origin)}; {len(flags):,} flags in all.</p>')
    else:
        parts.append(_empty("Every handed-off record carries the context a rep needs."))
    missing = _rows(conn, """
        select h.handed_off_at, coalesce(o.name, '(no owner)'), h.crm_source_system, h.crm_source_object,
               h.crm_source_id, h.missing_context_fields, h.outcome
        from marts.fct_handoffs as h left join marts.dim_owners as o using (owner_id)
        where h.missing_context_field_count > 0 and h.outcome in ('open', 'accepted')
        order by h.missing_context_field_count desc, h.handed_off_at desc limit 50""")
    if missing:
        parts.append("<h3>Records to fix: open handoffs missing context (50 most incomplete)</h3>" + _table(
            ["handed off", "owner", "CRM record", "missing", "outcome"],
            [[fmt_day(at), _e(owner), _record_cell(links, system, obj, rid), _e(fields), _e(outcome)]
             for at, owner, system, obj, rid, fields, outcome in missing], cls="records"))
    open_leaks = _rows(conn, f"""
        select l.leak_type, l.severity, coalesce(l.owner_name, '(no owner)'), l.detected_at, h.crm_source_system,
               h.crm_source_object, h.crm_source_id, l.detail
        from marts.fct_funnel_leaks as l left join marts.fct_handoffs as h using (handoff_id)
        where coalesce(h.outcome, 'open') in ('open', 'accepted')
        order by {SEVERITY_ORDER}, l.detected_at desc, l.leak_id limit 100""")
    if open_leaks:
        parts.append("<h3>Open leaks (most severe and most recent first, 100 at most)</h3>" + _table(
            ["leak", "severity", "owner", "detected", "CRM record", "detail"],
            [[_e(kind), _e(sev), _e(owner), fmt_day(at), _record_cell(links, system, obj, rid), _e(detail)]
             for kind, sev, owner, at, system, obj, rid, detail in open_leaks], cls="records open-leaks"))
    else:
        parts.append(_empty("No open leaks."))
    configured = ", ".join(sorted(links)) or "none"
    return (f'<section id="records"><h2>Records to fix</h2><p class="lead">Judged on the CRM record as it stands at '
            f'as-of. Links open the record in its CRM where configured (configured: {_e(configured)}; see '
            f'docs/analysts.md).</p>{"".join(parts)}</section>')
