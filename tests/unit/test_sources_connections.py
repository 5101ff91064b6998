"""Airflow connections read without Airflow agree with Airflow's own parsing."""

from __future__ import annotations

import json

import pytest

from baton.connections import ConnectionFields, get_connection, parse_uri, to_uri

URIS = [
    "http://client:s%40cret@http%3A%2F%2F127.0.0.1%3A8080",
    "salesforce://https://client:secret@acme.my.salesforce.com",
    "postgres://postgres:pw@127.0.0.1:5432/baton",
    "http://:pat-token@https%3A%2F%2Fapi.hubapi.com?__extra__=%7B%22a%22%3A+1%7D",
    "marketo://cid:csecret@123-ABC-456.mktorest.com?api_version=v1&batch=300",
]


@pytest.mark.parametrize("uri", URIS)
def test_uri_fields_match_what_airflow_parses(uri):
    from airflow.models.connection import Connection

    theirs = Connection(conn_id="x", uri=uri)
    ours = parse_uri("x", uri)
    assert (ours.host, ours.login, ours.password, ours.schema or "", ours.port, ours.extra) == (
        theirs.host, theirs.login, theirs.password, theirs.schema or "", theirs.port, theirs.extra_dejson)


def test_base_url_is_the_host_with_its_scheme_and_port():
    assert parse_uri("x", URIS[0]).base_url == "http://127.0.0.1:8080"
    assert parse_uri("x", URIS[4]).base_url == "https://123-abc-456.mktorest.com"  # host names are case-insensitive
    assert ConnectionFields("x", host="http://localhost", port=9000).base_url == "http://localhost:9000"


def test_json_connections_and_missing_ones():
    env = {"AIRFLOW_CONN_HUBSPOT_DEFAULT": json.dumps(
        {"conn_type": "http", "host": "https://api.hubapi.com", "password": "pat", "extra": {"portal": 1}})}
    fields = get_connection("hubspot_default", env)
    assert (fields.base_url, fields.password, fields.extra) == ("https://api.hubapi.com", "pat", {"portal": 1})
    assert get_connection("salesforce_default", env) is None


def test_to_uri_round_trips_and_keeps_the_secret_out_of_repr():
    fields = ConnectionFields("x", "http", "http://127.0.0.1:8080", "id", "s@c:/ret", extra={"k": 1})
    assert parse_uri("x", to_uri(fields)) == fields
    assert "s@c:/ret" not in repr(fields)
