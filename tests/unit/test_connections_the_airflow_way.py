"""Connections come through Airflow's lookup; inside a task a missing warehouse is an error that says so."""

from __future__ import annotations

import pytest

from baton import connections, warehouse


def test_a_missing_warehouse_inside_an_airflow_task_is_an_error_naming_the_connection(monkeypatch):
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_WAREHOUSE_DEFAULT", raising=False)
    monkeypatch.setattr(connections, "in_airflow_task", lambda: True)
    monkeypatch.setattr(connections, "airflow_connection", lambda conn_id: None)
    monkeypatch.setattr(warehouse, "start_embedded", lambda: pytest.fail("an embedded warehouse started in a task"))

    with pytest.raises(warehouse.WarehouseNotConfigured, match="warehouse_default"):
        warehouse.warehouse_url()


def test_the_warehouse_connection_names_the_warehouse_when_no_url_is_set(monkeypatch):
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_DEFAULT", "postgres://baton:secret@wh.internal:5433/baton")

    assert warehouse.warehouse_url() == "postgresql://baton:secret@wh.internal:5433/baton"


def test_a_source_without_a_connection_is_none_not_an_error(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", raising=False)

    assert connections.airflow_connection("hubspot_default") is None
