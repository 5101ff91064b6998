"""The Assets the DAGs publish and consume: one per raw schema, one for the published marts."""

from __future__ import annotations

SOURCES = ("salesforce", "marketo", "hubspot")


def raw_asset_uri(source: str) -> str:
    return f"postgres://warehouse/baton/raw_{source}"


MARTS_ASSET_URI = "postgres://warehouse/baton/marts"
