"""The HTML report's arithmetic and wording: Wilson intervals, numbers for people, CRM links."""

from __future__ import annotations

import json
import math

import pytest

from baton.notify.html_report import (
    _change,
    crm_link_settings,
    crm_record_url,
    fmt_hours,
    fmt_int,
    fmt_money,
    fmt_pct,
    wilson_interval,
)


@pytest.mark.parametrize(("successes", "total", "low", "high"), [
    (5, 10, 0.236593, 0.763407),   # Wilson (1927); the textbook 95% interval of 5 in 10
    (0, 10, 0.0, 0.277535),
    (10, 10, 0.722465, 1.0),
    (81, 263, 0.2553, 0.3662),
])
def test_wilson_interval_matches_the_textbook_values(successes, total, low, high):
    found = wilson_interval(successes, total)
    assert math.isclose(found[0], low, abs_tol=1e-4) and math.isclose(found[1], high, abs_tol=1e-4)


def test_wilson_interval_without_observations_is_none():
    assert wilson_interval(0, 0) is None


def test_numbers_are_formatted_for_people():
    assert fmt_int(1234567) == "1,234,567"
    assert fmt_pct(0.2534) == "25%" and fmt_pct(0.2534, 1) == "25.3%"
    assert fmt_money(992_000) == "$992k" and fmt_money(1_250_000) == "$1.2M" and fmt_money(950) == "$950"
    assert fmt_hours(705) == "11.8 h"
    assert fmt_int(None) == fmt_pct(None) == fmt_money(None) == fmt_hours(None) == "–"


def test_change_against_the_previous_period_reads_in_points_hours_and_percent():
    assert "+5.0 pts" in _change(0.30, 0.25, "pct")
    assert "−1.5 h" not in _change(600, 690, "hours") and "-1.5 h" in _change(600, 690, "hours")
    assert "+20 (+25%)" in _change(100, 80, "int")
    assert "no previous value" in _change(1, None, "int")


def test_crm_links_come_from_env_vars_first_then_connection_extras():
    env = {"BATON_SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com/",
           "AIRFLOW_CONN_HUBSPOT_DEFAULT": json.dumps({"conn_type": "http", "host": "https://api.hubapi.com",
                                                       "extra": {"portal_id": "123456"}}),
           "AIRFLOW_CONN_MARKETO_DEFAULT": json.dumps({"conn_type": "http", "host": "https://123-abc-456.mktorest.com"})}
    settings = crm_link_settings(env)
    assert settings == {"salesforce": "https://acme.my.salesforce.com", "hubspot": "123456"}
    assert crm_record_url(settings, "salesforce", "Contact", "003A") == \
        "https://acme.my.salesforce.com/lightning/r/Contact/003A/view"
    assert crm_record_url(settings, "hubspot", "contacts", "901") == "https://app.hubspot.com/contacts/123456/record/0-1/901"
    assert crm_record_url(settings, "marketo", "lead", "77") is None
    marketo = crm_link_settings({"BATON_MARKETO_INSTANCE_URL": "https://app-ab12.marketo.com"})
    assert crm_record_url(marketo, "marketo", "lead", "77") == "https://app-ab12.marketo.com/leadDatabase/loadLeadDetail?leadId=77"
