"""HubSpot search windows: no query ever needs more than the 10,000-result ceiling."""

from __future__ import annotations

from baton.sources.hubspot import SEARCH_CEILING, SEARCH_PAGE, HubSpotClient


class SearchOnlyClient(HubSpotClient):
    """A portal whose search answers like HubSpot's: `total` for the window, pages of 200,
    and a 400 for any page past the ceiling."""

    def __init__(self, stamps: list[int]):
        super().__init__("http://hs", "token")
        self.stamps = sorted(stamps)
        self.windows: list[tuple[int, int, int]] = []

    def _search_page(self, object_type, prop, low, high, properties, after):
        matching = [s for s in self.stamps if low <= s <= high]
        offset = int(after or 0)
        assert offset + SEARCH_PAGE <= SEARCH_CEILING or offset < SEARCH_CEILING, "asked past the ceiling"
        if after is None:
            self.windows.append((low, high, len(matching)))
        page = matching[offset:offset + SEARCH_PAGE]
        body = {"total": len(matching), "results": [{"id": f"{s}-{offset + i}", "ts": s} for i, s in enumerate(page)]}
        if offset + SEARCH_PAGE < len(matching):
            body["paging"] = {"next": {"after": str(offset + SEARCH_PAGE)}}
        return body


def test_a_window_over_the_ceiling_is_halved_until_every_piece_fits_and_nothing_is_lost_or_repeated():
    # 25,000 changes, 4,000 of them in one busy hour: several levels of halving.
    stamps = list(range(0, 21_000 * 1000, 1000)) + [50_000_000 + i for i in range(4_000)]
    client = SearchOnlyClient(stamps)
    found = list(client.search("contacts", "lastmodifieddate", 0, 60_000_000, ["email"]))
    assert sorted(r["ts"] for r in found) == sorted(stamps)
    assert len({r["id"] for r in found}) == len(stamps)
    queried = [w for w in client.windows if w[2] <= SEARCH_CEILING]
    assert all(total <= SEARCH_CEILING for _, _, total in queried)
    assert len(client.windows) > 3
    # The pieces read tile the original window without overlap.
    read = sorted((low, high) for low, high, total in client.windows if total <= SEARCH_CEILING)
    assert read[0][0] == 0 and read[-1][1] == 60_000_000
    assert all(a[1] + 1 == b[0] for a, b in zip(read, read[1:]))


def test_a_window_under_the_ceiling_is_read_in_one_query():
    client = SearchOnlyClient(list(range(500)))
    assert len(list(client.search("deals", "hs_lastmodifieddate", 0, 1000, []))) == 500
    assert len(client.windows) == 1


class ShiftingClient(SearchOnlyClient):
    """A record on the first page changes (leaves the window) once the first page is read."""

    def _search_page(self, object_type, prop, low, high, properties, after):
        body = super()._search_page(object_type, prop, low, high, properties, after)
        if after is None and not getattr(self, "moved", False):
            self.moved = True
            self.stamps.remove(self.stamps[0])
            self.stamps.append(10**12)  # its new last-modified time is past the window
        return body


def test_a_record_changing_mid_paging_cannot_make_another_slip_between_pages():
    client = ShiftingClient(list(range(1000)))
    found = {r["ts"] for r in client.search("contacts", "lastmodifieddate", 0, 5000, [])}
    assert found >= set(range(1, 1000))  # every record that stayed in the window was read
