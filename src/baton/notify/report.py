"""`baton report`: the funnel leaks of the latest run, readable in a terminal.

    baton report [--top 15] [--leak-type black_hole] [--owner "Lina Shah"]
    baton report --html report.html [--period-days 28] [--as-of 2026-11-01T00:00:00Z]

Reads the published marts (fct_handoffs, fct_funnel_leaks): handoffs and speed-to-lead, one
line per leak type (count, share of handoffs, high-severity count, pipeline at risk), the
owners with the most leaks, then the top leaks, most severe and most recent first, each with
its one-sentence detail. `print_report(warehouse_url)` is what `baton demo` ends with.
With --html, the same marts become one self-contained HTML file with charts
(baton.notify.html_report.write_html_report).
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable

from baton.notify.leak_types import read_leak_types

SEVERITY_ORDER = "case severity when 'high' then 1 when 'medium' then 2 else 3 end"


def register(subcommands) -> None:
    report = subcommands.add_parser("report", help="print the leak summary and the top leaks of the latest run")
    report.add_argument("--top", type=int, default=15, help="how many leaks to list (default 15)")
    report.add_argument("--leak-type", default=None,
                        help="list only leaks of this type (the leak types are marts.dim_leak_types)")
    report.add_argument("--owner", default=None, help="list only leaks of owners whose name contains this")
    report.add_argument("--html", default=None, metavar="PATH",
                        help="write the report with charts as one self-contained HTML file to PATH")
    report.add_argument("--period-days", type=int, default=28,
                        help="with --html: the period the headline covers, compared with the one before (default 28)")
    report.add_argument("--as-of", default=None,
                        help="with --html: the end of the period (ISO-8601; default: the latest instant in the marts)")
    report.set_defaults(handler=_report_command)


def _report_command(args) -> int:
    from baton.warehouse import warehouse_url

    if args.html:
        from baton.instants import parse_instant
        from baton.notify.html_report import write_html_report

        written = write_html_report(warehouse_url(), args.html, period_days=args.period_days,
                                    as_of=parse_instant(args.as_of) if args.as_of else None)
        print(f"baton report: wrote {written.path} ({written.charts} charts, {written.path.stat().st_size:,} bytes, "
              f"{written.seconds:.1f}s)")
        return 0
    return 0 if print_report(warehouse_url(), top=args.top, leak_type=args.leak_type, owner=args.owner) else 1


def _marts_ready(conn) -> bool:
    row = conn.execute("select to_regclass('marts.fct_funnel_leaks') is not null"
                       " and to_regclass('marts.fct_handoffs') is not null").fetchone()
    return bool(row[0])


def _money(value) -> str:
    return "-" if not value else f"${float(value):,.0f}"


def print_report(warehouse_url: str, *, top: int = 15, leak_type: str | None = None, owner: str | None = None,
                 echo: Callable[[str], None] = print) -> bool:
    """Print the leak report of the marts in the warehouse; False when there are no marts yet."""
    from baton.warehouse import connect

    width = max(80, min(shutil.get_terminal_size((110, 20)).columns, 140))
    with connect(warehouse_url) as conn:
        if not _marts_ready(conn):
            echo("baton report: no funnel marts yet - run `baton demo` or `baton run` first.")
            return False
        leak_types = read_leak_types(conn)
        if leak_type and leak_type not in leak_types:
            echo(f"baton report: unknown leak type {leak_type!r} (one of {', '.join(leak_types)})")
            return False
        handoffs, touched, median_bm, breached, first_at, last_at = conn.execute("""
            select count(*), count(first_sales_touch_at),
                   percentile_cont(0.5) within group (order by response_business_minutes),
                   count(*) filter (where is_sla_breached), min(handed_off_at), max(handed_off_at)
            from marts.fct_handoffs""").fetchone()
        by_type = {row[0]: row[1:] for row in conn.execute("""
            with open_pipeline as (
                select account_id, sum(amount) as amount from marts.fct_opportunities
                where not coalesce(is_closed, false) and account_id is not null group by account_id
            ),
            leak_accounts as (select distinct leak_type, account_id from marts.fct_funnel_leaks),
            at_risk as (
                select leak_accounts.leak_type, sum(open_pipeline.amount) as amount
                from leak_accounts inner join open_pipeline on open_pipeline.account_id = leak_accounts.account_id
                group by leak_accounts.leak_type
            ),
            counted as (
                select leak_type, count(*) as leaks, count(*) filter (where severity = 'high') as high
                from marts.fct_funnel_leaks group by leak_type
            )
            select counted.leak_type, counted.leaks, counted.high, at_risk.amount
            from counted left join at_risk on at_risk.leak_type = counted.leak_type""")} \
            if conn.execute("select to_regclass('marts.fct_opportunities') is not null").fetchone()[0] else {
                row[0]: (*row[1:], None) for row in conn.execute(
                    "select leak_type, count(*), count(*) filter (where severity = 'high')"
                    " from marts.fct_funnel_leaks group by leak_type")}
        owners = conn.execute("""
            select coalesce(owner_name, '(no owner)'), coalesce(owner_team, '-'), count(*),
                   count(*) filter (where severity = 'high')
            from marts.fct_funnel_leaks group by 1, 2 order by 3 desc, 1 limit 5""").fetchall()
        filters, params = [], []
        if leak_type:
            filters.append("leak_type = %s")
            params.append(leak_type)
        if owner:
            filters.append("owner_name ilike %s")
            params.append(f"%{owner}%")
        where = ("where " + " and ".join(filters)) if filters else ""
        leaks = conn.execute(f"""
            select leak_type, severity, coalesce(owner_name, '(no owner)'), detected_at, detail
            from marts.fct_funnel_leaks {where}
            order by {SEVERITY_ORDER}, detected_at desc, leak_id limit %s""", (*params, top)).fetchall()

    rule = "─" * width
    echo("")
    echo(rule)
    echo("Baton funnel leaks")
    echo(rule)
    if not handoffs:
        echo("No handoffs in the marts yet: nobody has reached mql.")
        return True
    touched_share = touched / handoffs
    echo(f"Handoffs: {handoffs:,} from {first_at:%Y-%m-%d} to {last_at:%Y-%m-%d}; "
         f"{touched_share:.0%} touched by sales, median speed-to-lead "
         f"{(median_bm or 0) / 60:.1f} business hours, SLA breached on {breached / handoffs:.0%}.")
    echo("")
    echo(f"{'leak type':<30}{'leaks':>8}{'per handoff':>13}{'high':>7}{'pipeline at risk':>19}  meaning")
    total = 0
    for name, kind in leak_types.items():
        count, high, pipeline = by_type.get(name, (0, 0, None))
        total += count
        echo(f"{name:<30}{count:>8,}{count / handoffs:>13.0%}{high:>7,}{_money(pipeline):>19}  {kind.description}")
    echo(f"{'all leaks':<30}{total:>8,}")
    if owners:
        echo("")
        echo("Owners with the most leaks: " + "; ".join(
            f"{name} ({team}) {count:,}, {high:,} high" for name, team, count, high in owners))
    echo("")
    title = f"Top {len(leaks)} leaks"
    if leak_type or owner:
        title += " (" + ", ".join(filter(None, [leak_type, owner and f"owner ~ {owner}"])) + ")"
    echo(title + ", most severe and most recent first:")
    for number, (kind, severity, owner_name, detected_at, detail) in enumerate(leaks, 1):
        head = f"{number:>3}. [{severity}] {kind} · {owner_name} · {detected_at:%Y-%m-%d}"
        echo(head)
        echo(textwrap.fill(detail, width=width, initial_indent="     ", subsequent_indent="     "))
    if not leaks:
        echo("     (none)")
    echo(rule)
    return True
