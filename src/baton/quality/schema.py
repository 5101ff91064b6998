"""The `quality` schema: every run's results, the gate's verdicts, row-level flags, digests sent.

Created on first use and only ever extended (`add column if not exists`), so a warehouse
made by an earlier version keeps its history.
"""

from __future__ import annotations

DDL = """
create schema if not exists quality;

create table if not exists quality.gate_runs (
    run_id          text primary key,
    as_of           timestamptz,
    checked_schema  text not null,
    build_id        text,
    started_at      timestamptz not null,
    finished_at     timestamptz,
    passed          boolean,
    errors          integer,
    warnings        integer,
    reason          text,
    data_docs       text
);
alter table quality.gate_runs add column if not exists published_at timestamptz;

create table if not exists quality.validation_runs (
    run_id      text not null,
    check_name  text not null,
    severity    text not null check (severity in ('error', 'warn')),
    success     boolean not null,
    observed    jsonb,
    as_of       timestamptz,
    checked_at  timestamptz not null default now(),
    primary key (run_id, check_name)
);
alter table quality.validation_runs add column if not exists relation text;
alter table quality.validation_runs add column if not exists expectation_type text;
alter table quality.validation_runs add column if not exists column_name text;
alter table quality.validation_runs add column if not exists checked_relation text;
create index if not exists validation_runs_relation_idx on quality.validation_runs (relation, check_name);

create table if not exists quality.lead_context_flags (
    handoff_id   text not null,
    person_id    text,
    owner_id     text,
    field_name   text not null,
    severity     text not null,
    checked_at   timestamptz not null,
    source_system text,
    source_object text,
    source_id    text,
    run_id       text,
    primary key (handoff_id, field_name)
);

create table if not exists quality.digest_log (
    digest_id   text primary key,
    as_of       timestamptz,
    sent_at     timestamptz not null,
    leaks       integer not null,
    status      text not null,
    detail      text
);

create table if not exists quality.digest_sent_leaks (
    leak_id     text primary key,
    digest_id   text not null,
    sent_at     timestamptz not null
);
"""


def ensure_quality_schema(conn) -> None:
    # Two runs creating the schema at once would race on the catalog; serialize them.
    conn.execute("select pg_advisory_xact_lock(hashtext('baton.quality.ddl'))")
    conn.execute(DDL)
