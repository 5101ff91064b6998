"""`baton watch` refuses what it cannot mean, before touching a source, the warehouse or a CRM."""

from __future__ import annotations

import pytest

from baton.cli import main


def test_watch_refuses_an_instant_that_is_not_the_end_of_an_hour(capsys, monkeypatch):
    """--at names the end of the hour to watch: 11:30 is an error naming the whole hour to use, exit 2."""
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://nobody@127.0.0.1:1/none")  # never reached
    assert main(["watch", "--at", "2026-10-29T11:30:00Z", "--dry-run"]) == 2
    error = capsys.readouterr().err
    assert "--at must be a whole hour" in error and "2026-10-29T12:00:00Z" in error


@pytest.mark.parametrize("value", ["yes", "true", "write"])
def test_watch_refuses_a_write_back_setting_it_cannot_mean(capsys, monkeypatch, value):
    """An unknown baton_write_back is an error naming the three values, not a silent "off", exit 2."""
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://nobody@127.0.0.1:1/none")  # never reached
    monkeypatch.setenv("AIRFLOW_VAR_BATON_WRITE_BACK", value)
    assert main(["watch", "--at", "2026-10-29T11:00:00Z"]) == 2
    assert "baton_write_back must be one of off, dry-run, on" in capsys.readouterr().err
