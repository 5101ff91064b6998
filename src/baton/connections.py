"""Connections the Airflow way, as plain fields the code under sources/ and load/ takes.

`airflow_connection(conn_id)` is the one lookup every task and every `baton` command uses: inside
an Airflow task the Task SDK's (secrets backends, `AIRFLOW_CONN_*`, the connections the API server
holds; Airflow then masks the secret in the logs); elsewhere airflow-core's (`AIRFLOW_CONN_*`,
secrets backends, the metadata database). Without Airflow installed it reads `AIRFLOW_CONN_<ID>`
(URI or JSON) itself, by Airflow's own rules, including a host that is itself a URL
(`http://login:secret@https%3A%2F%2Fapi.example.com` or `http://https://api.example.com`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlsplit

EXTRA_KEY = "__extra__"


@dataclass(frozen=True)
class ConnectionFields:
    conn_id: str
    conn_type: str | None = None
    host: str | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None
    port: int | None = None
    extra: dict = field(default_factory=dict, repr=False)

    @property
    def base_url(self) -> str:
        """The API base URL: host (a URL, or a bare host name taken as https), plus port if set."""
        host = (self.host or "").rstrip("/")
        if not host:
            return ""
        if "://" not in host:
            host = "https://" + host
        if self.port and urlsplit(host).port is None:
            parts = urlsplit(host)
            host = f"{parts.scheme}://{parts.netloc}:{self.port}{parts.path}"
        return host

    def libpq_url(self) -> str:
        """The connection as a PostgreSQL URL (for `warehouse_default`)."""
        if self.host and self.host.startswith(("postgresql://", "postgres://")):
            return self.host
        auth = ""
        if self.login:
            auth = quote(self.login, safe="")
            if self.password:
                auth += ":" + quote(self.password, safe="")
            auth += "@"
        port = f":{self.port}" if self.port else ""
        return f"postgresql://{auth}{self.host or '127.0.0.1'}{port}/{self.schema or 'postgres'}"


def _extra(value) -> dict:
    if value in (None, ""):
        return {}
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _json_or_text(value: str):
    try:
        return json.loads(value) if value else value
    except ValueError:
        return value


def _hostname(parts) -> str:
    # As Airflow does: a percent-encoded URL as host keeps its scheme, slashes and port.
    hostname = unquote(parts.hostname or "")
    if "/" in hostname:
        hostname = parts.netloc
        if "@" in hostname:
            hostname = hostname.rsplit("@", 1)[1]
        if ":" in hostname:
            hostname = hostname.split(":", 1)[0]
        hostname = unquote(hostname)
    return hostname


def parse_uri(conn_id: str, uri: str) -> ConnectionFields:
    schemes = uri.count("://")
    if schemes == 0 or schemes > 2:
        raise ValueError(f"connection {conn_id}: not a connection URI")
    conn_type, rest = uri.split("://", 1)
    protocol = None
    if schemes == 2:
        protocol, rest = rest.split("://", 1)
    parts = urlsplit("//" + rest)
    host = _hostname(parts)
    if protocol:
        host = f"{protocol}://{host}"
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if EXTRA_KEY in query:
        extra = _extra(query[EXTRA_KEY])
    else:
        extra = {key: _json_or_text(value) for key, value in query.items()}
    return ConnectionFields(
        conn_id=conn_id,
        conn_type=conn_type.replace("-", "_") if conn_type != "postgresql" else "postgres",
        host=host or None,
        login=unquote(parts.username) if parts.username else parts.username,
        password=unquote(parts.password) if parts.password else parts.password,
        schema=unquote(parts.path[1:]) if parts.path[1:] else None,
        port=parts.port,
        extra=extra,
    )


def parse_json(conn_id: str, text: str) -> ConnectionFields:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"connection {conn_id}: JSON is not an object")
    port = value.get("port")
    return ConnectionFields(conn_id=conn_id, conn_type=value.get("conn_type"), host=value.get("host"),
                            login=value.get("login"), password=value.get("password"), schema=value.get("schema"),
                            port=int(port) if port not in (None, "") else None, extra=_extra(value.get("extra")))


def get_connection(conn_id: str, env: Mapping[str, str] | None = None) -> ConnectionFields | None:
    """The connection `conn_id` from `AIRFLOW_CONN_<CONN_ID>`; None when it is not set."""
    env = os.environ if env is None else env
    value = env.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if not value:
        return None
    value = value.strip()
    if value.startswith("{"):
        return parse_json(conn_id, value)
    return parse_uri(conn_id, value)


def from_airflow(connection) -> ConnectionFields:
    """Adapter for an Airflow Connection object (what `BaseHook.get_connection` returns)."""
    return ConnectionFields(conn_id=connection.conn_id, conn_type=connection.conn_type, host=connection.host,
                            login=connection.login, password=connection.password, schema=connection.schema,
                            port=connection.port, extra=_extra(connection.extra))


def to_uri(fields: ConnectionFields) -> str:
    """An `AIRFLOW_CONN_*` URI for these fields (how tests and the demo hand a connection over)."""
    auth = ""
    if fields.login or fields.password:
        auth = quote(fields.login or "", safe="") + (":" + quote(fields.password, safe="") if fields.password else "")
        auth += "@"
    host = quote(fields.host or "", safe="")
    port = f":{fields.port}" if fields.port else ""
    schema = "/" + quote(fields.schema, safe="") if fields.schema else ""
    extra = f"?{EXTRA_KEY}={quote(json.dumps(fields.extra), safe='')}" if fields.extra else ""
    return f"{fields.conn_type or 'http'}://{auth}{host}{port}{schema}{extra}"


def in_airflow_task() -> bool:
    """True in the process of a running Airflow task (the Task SDK's supervisor talks to it)."""
    try:
        from airflow.sdk.execution_time import task_runner
    except ImportError:
        return False
    return getattr(task_runner, "SUPERVISOR_COMMS", None) is not None


def airflow_connection(conn_id: str) -> ConnectionFields | None:
    """The connection `conn_id` through Airflow's connection mechanisms; None when none defines it."""
    try:
        if in_airflow_task():
            from airflow.sdk import Connection

            return from_airflow(Connection.get(conn_id))
        from airflow.models.connection import Connection as CoreConnection
    except ImportError:
        return get_connection(conn_id)
    except Exception as error:
        if type(error).__name__ == "AirflowNotFoundException":
            return None
        raise
    try:
        return from_airflow(CoreConnection.get_connection_from_secrets(conn_id))
    except Exception as error:
        if type(error).__name__ != "AirflowNotFoundException":
            # e.g. a metadata database not migrated yet: the environment still answers.
            logging.getLogger("baton").debug("Airflow's connection lookup failed (%s); reading AIRFLOW_CONN_*", error)
            return get_connection(conn_id)
        return None
