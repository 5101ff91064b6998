"""Faults on demand: which API request gets which failure, deterministic by seed.

Each data request (token and `/_sandbox` calls are exempt, so a client can always recover)
draws from one seeded generator in arrival order: with probability `rate` it fails with one
of `kinds`. `schedule` pins a kind to the n-th data request (1-based) for tests that need a
fault at an exact place, such as a token expiring in the middle of paging. `write_schedule` pins
a kind to the n-th write (a record-creating POST, counted apart from the reads), with one more
kind, `lost_response`: the write is applied but its answer is a server error, as when a
connection dies after the vendor committed.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

FAULT_KINDS = ("rate_limit", "server_error", "slow", "drop_connection", "token_expiry")
WRITE_FAULT_KINDS = (*FAULT_KINDS, "lost_response")


@dataclass
class FaultPlan:
    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 0
    schedule: dict[int, str] = field(default_factory=dict)
    write_schedule: dict[int, str] = field(default_factory=dict)
    slow_seconds: float = 2.0
    retry_after_seconds: int = 1
    systems: tuple[str, ...] = ("salesforce", "marketo", "hubspot")
    # Marketo's rate-limit answers, used in turn: 606 rate, 607 daily quota, 615 concurrency
    marketo_limit_codes: tuple[str, ...] = ("606",)

    def __post_init__(self):
        self.kinds = tuple(self.kinds)
        unknown = [kind for kind in (*self.kinds, *self.schedule.values()) if kind not in FAULT_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; choose among {', '.join(FAULT_KINDS)}")
        unknown = [kind for kind in self.write_schedule.values() if kind not in WRITE_FAULT_KINDS]
        if unknown:
            raise ValueError(f"unknown write fault kinds {unknown}; choose among {', '.join(WRITE_FAULT_KINDS)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("fault rate must be between 0 and 1")
        if self.rate > 0 and not self.kinds:
            raise ValueError("a fault rate needs at least one fault kind")
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()
        self._requests = 0
        self._writes = 0
        self._marketo_limits = 0

    @classmethod
    def parse(cls, rate: float, kinds: str | None, seed: int = 0, **options) -> FaultPlan:
        """From the CLI's `--fault-rate 0.05 --faults rate_limit,slow`."""
        chosen = tuple(k.strip() for k in kinds.split(",") if k.strip()) if kinds else FAULT_KINDS
        return cls(rate=rate, kinds=chosen, seed=seed, **options)

    def draw(self, system: str) -> str | None:
        """The fault for the next data request of `system`, or None."""
        if system not in self.systems:
            return None
        with self._lock:
            self._requests += 1
            scheduled = self.schedule.get(self._requests)
            # draw both numbers every time so one request's outcome never shifts the next's
            roll, pick = self._random.random(), self._random.randrange(max(len(self.kinds), 1))
            if scheduled:
                return scheduled
            if roll < self.rate:
                return self.kinds[pick]
            return None

    def draw_write(self, system: str) -> str | None:
        """The scheduled fault of the next write request (any system's), or None."""
        with self._lock:
            self._writes += 1
            return self.write_schedule.get(self._writes)

    def next_marketo_limit_code(self) -> str:
        with self._lock:
            code = self.marketo_limit_codes[self._marketo_limits % len(self.marketo_limit_codes)]
            self._marketo_limits += 1
            return code
