"""End to end: what analysts read - the metrics (MetricFlow), the HTML report in a real browser and
the data dictionary - on the default sandbox world (3,000 people, seed 7: the `e2e_world`
fixture), extracted through the sandbox's APIs and built with as_of = the world's end.

    WAREHOUSE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/pytest tests/e2e/test_analyst_surfaces.py -s

- the metrics equal SQL written directly against the marts;
- the report renders in headless Chromium (Debian's chromium + chromium-driver, installed with
  apt-get when missing) with no console error and no request leaving the file, every chart
  draws, and its headline numbers and leak counts equal queries on the marts; a screenshot is
  saved under .baton/screenshots/;
- the report's conversion by response time equals the planted truth's handoffs (the
  generator's own event log, sharing nothing with the dbt models).
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import time

import psycopg
import pytest

pytestmark = pytest.mark.timeout(900)

PERIOD_DAYS = 28



@pytest.fixture(scope="module")
def built(e2e_built):
    """(url, world_end, planted handoffs): the default world built once for the session (tests/fixtures/e2e.py)."""
    return e2e_built.url, e2e_built.world_end, e2e_built.truth["handoffs"]


def _rows(url: str, sql: str, params=None) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params or {}).fetchall()


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-6)


# -- (b) the metrics equal SQL on the marts -----------------------------------------------------------


def test_the_semantic_layer_validates_against_the_warehouse(built):
    from baton.metrics import validate_metrics

    url, _, _ = built
    started = time.monotonic()
    assert validate_metrics(url) == []
    print(f"\nmetrics validate: {time.monotonic() - started:.1f}s")


CONTRACT_METRICS = ("handoffs", "sla_breach_rate", "median_response_business_minutes", "black_hole_rate", "funnel_leaks",
                    "leak_rate_per_handoff", "mql_to_sql_conversion_rate", "attributed_pipeline", "attributed_revenue")


def test_every_contract_metric_exists_with_a_description_and_its_dimensions(built):
    from baton.metrics import list_metrics

    url, _, _ = built
    metrics = {metric["name"]: metric for metric in list_metrics(url)}
    assert set(CONTRACT_METRICS) <= set(metrics)
    assert [name for name in CONTRACT_METRICS if len(metrics[name]["description"]) < 40] == []
    assert {"leak__leak_type", "owner__name", "owner__team"} <= set(metrics["funnel_leaks"]["dimensions"])
    for name in ("attributed_pipeline", "attributed_revenue"):
        assert {"attribution__model", "attribution__channel"} <= set(metrics[name]["dimensions"])


def test_baton_metrics_query_prints_handoffs_and_sla_breach_rate_equal_to_sql_on_fct_handoffs(built, monkeypatch, capsys):
    from baton.cli import main

    url, _, _ = built
    monkeypatch.setenv("WAREHOUSE_URL", url)
    capsys.readouterr()
    started = time.monotonic()
    assert main(["metrics", "query", "--metrics", "handoffs,sla_breach_rate"]) == 0
    seconds = time.monotonic() - started
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "handoffs,sla_breach_rate"
    handoffs, rate = lines[1].split(",")
    expected_handoffs, expected_breached = _rows(
        url, "select count(*), count(*) filter (where is_sla_breached) from marts.fct_handoffs")[0]
    assert int(handoffs) == expected_handoffs > 100
    assert math.isclose(float(rate), expected_breached / expected_handoffs, abs_tol=1e-6)
    print(f"\nbaton metrics query (CLI, parse + query): {seconds:.1f}s")


def test_funnel_leaks_by_leak_type_equal_sql_on_fct_funnel_leaks(built):
    from baton.metrics import query_metrics

    url, _, _ = built
    result = query_metrics(url, ["funnel_leaks"], group_by=["leak__leak_type"])
    found = {row["leak__leak_type"]: row["funnel_leaks"] for row in result.as_dicts()}
    expected = dict(_rows(url, "select leak_type, count(*) from marts.fct_funnel_leaks group by 1"))
    assert found == expected
    assert len(expected) >= 6


def test_attributed_revenue_and_pipeline_by_model_equal_sql_on_fct_attribution(built):
    from baton.metrics import query_metrics

    url, _, _ = built
    result = query_metrics(url, ["attributed_revenue", "attributed_pipeline"], group_by=["attribution__model"])
    found = {row["attribution__model"]: (row["attributed_revenue"], row["attributed_pipeline"])
             for row in result.as_dicts()}
    expected = {model: (revenue, pipeline) for model, revenue, pipeline in _rows(
        url, "select model, sum(revenue_credit), sum(pipeline_credit) from marts.fct_attribution group by 1")}
    assert set(found) == set(expected) and len(expected) == 7
    for model, (revenue, pipeline) in expected.items():
        assert _close(found[model][0], revenue) and _close(found[model][1], pipeline), model
    assert sum(float(r) for r, _ in expected.values()) > 0


def test_the_other_contract_metrics_equal_sql_on_the_marts(built):
    from baton.metrics import query_metrics

    url, _, _ = built
    row = query_metrics(url, ["median_response_business_minutes", "black_hole_rate", "leak_rate_per_handoff"]).as_dicts()[0]
    median, black_hole_rate, leak_rate = _rows(url, """
        select percentile_cont(0.5) within group (order by response_business_minutes),
               avg(is_black_hole::int), (select count(*) from marts.fct_funnel_leaks)::float / count(*)
        from marts.fct_handoffs""")[0]
    assert _close(row["median_response_business_minutes"], median)
    assert _close(row["black_hole_rate"], black_hole_rate)
    assert _close(row["leak_rate_per_handoff"], leak_rate)
    by_channel = {r["funnel_cohort__channel"]: r["mql_to_sql_conversion_rate"] for r in query_metrics(
        url, ["mql_to_sql_conversion_rate"], group_by=["funnel_cohort__channel"]).as_dicts()}
    for channel, mql, sql in _rows(url, "select channel, sum(reached_mql), sum(reached_sql) from marts.rpt_funnel_conversion"
                                        " group by 1"):
        assert _close(by_channel[channel], sql / mql if mql else None), channel


# -- (a) the HTML report in a real browser ------------------------------------------------------------


@pytest.fixture(scope="module")
def report(built, tmp_path_factory):
    from baton.notify.html_report import write_html_report

    url, world_end, _ = built
    path = tmp_path_factory.mktemp("report") / "report.html"
    written = write_html_report(url, path, as_of=world_end, period_days=PERIOD_DAYS)
    print(f"\nHTML report: {written.charts} charts, {path.stat().st_size:,} bytes, rendered in {written.seconds:.1f}s")
    return written


@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium and chromium-driver, installed with apt-get when missing."""
    if shutil.which("chromium") is None or shutil.which("chromedriver") is None:
        if shutil.which("apt-get") is None:
            pytest.fail("the browser test needs chromium and chromium-driver (Debian packages) and there is no apt-get")
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "chromium", "chromium-driver"],
                       check=True, stdout=subprocess.DEVNULL)
    return shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser(chromium):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = chromium
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000", "--hide-scrollbars"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def page(report, browser):
    """The report loaded in the browser, every plot drawn; (driver, report, console log, load seconds)."""
    from selenium.webdriver.support.ui import WebDriverWait

    started = time.monotonic()
    browser.get(report.path.as_uri())
    WebDriverWait(browser, 60).until(lambda d: d.execute_script(
        "const plots = [...document.querySelectorAll('.js-plotly-plot')];"
        "return document.readyState === 'complete' && plots.length === arguments[0]"
        " && plots.every(p => p._fullLayout && p.querySelector('svg.main-svg'));", report.charts))
    seconds = time.monotonic() - started
    return browser, report, browser.get_log("browser"), seconds


def test_report_loads_offline_without_console_errors(page):
    driver, report, console, seconds = page
    assert [entry for entry in console if entry["level"] in ("SEVERE", "ERROR")] == []
    requests = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => !n.startsWith('data:') && !n.startsWith('blob:') && !n.startsWith('file:'));")
    assert requests == []
    text = report.path.read_text()
    assert "cdn." not in text.lower().split("<script", 1)[0] and "fonts.googleapis" not in text
    assert '<script src="http' not in text and '<link rel="stylesheet" href="http' not in text
    print(f"\nreport loaded and drawn in Chromium in {seconds:.1f}s")


def test_every_chart_draws_a_non_empty_svg_with_a_title(page):
    driver, report, _, _ = page
    charts = driver.execute_script("""
        return [...document.querySelectorAll('.js-plotly-plot')].map(p => ({
            id: p.id,
            marks: p.querySelectorAll('svg.main-svg g.trace path, svg.main-svg g.trace .point').length,
            title: (p.querySelector('.gtitle') || {}).textContent || '',
            guide: (p.closest('figure').querySelector('.guide') || {}).textContent || ''}));""")
    assert len(charts) == report.charts >= 10
    assert [c["id"] for c in charts if c["marks"] == 0] == []
    assert [c["id"] for c in charts if not c["title"].strip() or not c["guide"].strip()] == []


def test_headline_numbers_on_the_page_equal_queries_on_the_marts(page, built):
    driver, report, _, _ = page
    url, world_end, _ = built
    shown = {kpi.get_attribute("data-kpi"): (kpi.get_attribute("data-value"),
                                             kpi.find_element("css selector", ".value").text)
             for kpi in driver.find_elements("css selector", "[data-kpi]")}
    params = {"start": report.period_start, "end": world_end}
    handoffs, touched, median, breached, black_holes = _rows(url, """
        select count(*), count(*) filter (where first_sales_touch_at is not null),
               percentile_cont(0.5) within group (order by response_business_minutes),
               count(*) filter (where is_sla_breached), count(*) filter (where is_black_hole)
        from marts.fct_handoffs where handed_off_at > %(start)s and handed_off_at <= %(end)s""", params)[0]
    pipeline = _rows(url, """
        select coalesce(sum(amount), 0) from marts.fct_opportunities
        where account_id in (select account_id from marts.fct_funnel_leaks
                             where coalesce(handed_off_at, detected_at) > %(start)s
                               and coalesce(handed_off_at, detected_at) <= %(end)s)
          and created_at <= %(end)s and (closed_at is null or closed_at > %(end)s)""", params)[0][0]
    assert handoffs > 50, "the period should hold handoffs"
    expected = {"handoffs": handoffs, "touched_share": touched / handoffs, "median_response_business_minutes": median,
                "sla_breach_rate": breached / handoffs, "black_holes": black_holes, "pipeline_at_risk": pipeline}
    assert set(shown) == set(expected)
    for key, value in expected.items():
        assert _close(shown[key][0], value), (key, shown[key], value)
    assert shown["handoffs"][1] == f"{handoffs:,}"
    assert shown["black_holes"][1] == f"{black_holes:,}"
    assert shown["sla_breach_rate"][1] == f"{breached / handoffs:.0%}"
    assert shown["median_response_business_minutes"][1] == f"{float(median) / 60:,.1f} h"


def test_leak_counts_per_type_on_the_page_equal_queries_on_the_marts(page, built):
    driver, report, _, _ = page
    url, world_end, _ = built
    shown = {row.get_attribute("data-leak-type"): row.find_element("css selector", ".count").text
             for row in driver.find_elements("css selector", "tr[data-leak-type]")}
    expected = dict(_rows(url, """
        select t.leak_type, count(l.leak_id) from marts.dim_leak_types as t
        left join marts.fct_funnel_leaks as l on l.leak_type = t.leak_type
          and coalesce(l.handed_off_at, l.detected_at) > %(start)s and coalesce(l.handed_off_at, l.detected_at) <= %(end)s
        group by 1""", {"start": report.period_start, "end": world_end}))
    assert {kind: int(text.replace(",", "")) for kind, text in shown.items()} == expected
    assert sum(expected.values()) > 0


def test_screenshot_of_the_report_is_saved(page):
    from baton.paths import state_path

    driver, _, _, _ = page
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(height, 16000))
    path = state_path("screenshots", "report-default-world.png")
    path.parent.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(path))
    assert path.stat().st_size > 50_000
    print(f"\nscreenshot: {path}")


# -- (c) conversion by response time equals the planted truth ---------------------------------------


def _bucket(minutes) -> str:
    if minutes is None:
        return "never"
    if minutes <= 60:
        return "within_1h"
    if minutes <= 480:
        return "1h_to_8h"
    if minutes <= 2400:
        return "8h_to_40h"
    return "over_40h"


def test_conversion_by_response_time_equals_the_planted_handoffs(page, built):
    from baton.notify.html_report import wilson_interval

    driver, _, _, _ = page
    _, _, planted = built
    expected: dict[str, list[int]] = {}
    for handoff in planted:
        counts = expected.setdefault(_bucket(handoff["response_business_minutes"]), [0, 0])
        counts[0] += 1
        counts[1] += handoff["outcome"] == "converted"
    shown = {row.get_attribute("data-bucket"): row for row in driver.find_elements("css selector", "tr[data-bucket]")}
    assert set(shown) == {"within_1h", "1h_to_8h", "8h_to_40h", "over_40h", "never"}
    for bucket, row in shown.items():
        total, converted = expected.get(bucket, [0, 0])
        assert (int(row.get_attribute("data-handoffs")), int(row.get_attribute("data-converted"))) == (total, converted), \
            bucket
        if total:
            low, high = wilson_interval(converted, total)
            assert math.isclose(float(row.get_attribute("data-low")), low, abs_tol=1e-6)
            assert math.isclose(float(row.get_attribute("data-high")), high, abs_tol=1e-6)
    assert sum(total for total, _ in expected.values()) == len(planted) > 100
    print("\nconversion by response time (planted): " + json.dumps(expected))


# -- the data dictionary ----------------------------------------------------------------------------


def test_data_dictionary_is_one_self_contained_file_with_the_metrics(built, tmp_path):
    from baton.notify.dictionary import write_data_dictionary

    url, world_end, _ = built
    written = write_data_dictionary(url, tmp_path, world_end)
    text = written.path.read_text()
    assert written.path.name == "data-dictionary.html" and written.bytes > 500_000
    for name in ("fct_handoffs", "sla_breach_rate", "leak_rate_per_handoff", "html_report", "leaks_by_type_and_week"):
        assert name in text, name
    print(f"\ndbt docs generate --static: {written.seconds:.1f}s, {written.bytes:,} bytes")


def test_an_empty_period_says_so_instead_of_drawing_empty_charts(built, tmp_path):
    from datetime import timedelta

    from baton.notify.html_report import write_html_report

    url, world_end, _ = built
    written = write_html_report(url, tmp_path / "empty.html", as_of=world_end + timedelta(days=400), period_days=7)
    text = written.path.read_text()
    assert "No handoffs between" in text and 'data-kpi="handoffs"' not in text
    assert "No leaks in the 26 weeks" in text and "No leaks and no handoffs in this period." in text


def test_records_to_fix_link_to_their_crm_record_when_the_instance_is_configured(built, tmp_path, monkeypatch):
    import re

    from baton.notify.html_report import write_html_report

    url, world_end, _ = built
    monkeypatch.setenv("BATON_SALESFORCE_INSTANCE_URL", "https://acme.my.salesforce.com")
    monkeypatch.setenv("BATON_HUBSPOT_PORTAL_ID", "4242")
    text = write_html_report(url, tmp_path / "linked.html", as_of=world_end).path.read_text()
    records = text[text.index('<section id="records">'):]
    salesforce = set(re.findall(r'href="https://acme\.my\.salesforce\.com/lightning/r/(Lead|Contact)/(\w+)/view"', records))
    hubspot = set(re.findall(r'href="https://app\.hubspot\.com/contacts/4242/record/0-1/(\d+)"', records))
    assert salesforce and hubspot
    known = {(obj, rid) for obj, rid in _rows(url, "select crm_source_object, crm_source_id from marts.fct_handoffs"
                                                   " where crm_source_system = 'salesforce'")}
    assert salesforce <= known
