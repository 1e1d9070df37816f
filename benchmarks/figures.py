"""What every benchmark measures and reports: one figure next to its floor from the same run.

Each measuring module (benchmarks/p1_pages.py, p2_metrics.py, ... p7_email.py) exposes
``measure(context: BenchContext) -> list[Figure]``; the ``benchmark`` command runs them in
order, prints each figure and writes docs/benchmarks.md.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Figure:
    """One measured figure.

    ``met`` is None when the measurement could not run (then ``note`` says why): a check that
    could not run is unknown, never a pass.
    """

    section: str  # "P1", "P2", ... "Search"
    name: str  # what was measured, e.g. "weekly compose, 100k approved items / 2,000 platforms"
    value: float | None  # None when it could not run
    unit: str  # "ms", "s", "/s", "MB", "queries"
    target: str  # the target as written in issue 11, e.g. "<= 1.5x", "<= 5 s", ">= 200/s"
    met: bool | None
    floor: float | None = None  # measured in the same run, same unit (bare view, hand SQL)
    queries: int | None = None  # queries per page/operation where that is part of the target
    note: str = ""  # e.g. the EXPLAIN line that explains a miss

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.floor:
            return None
        return self.value / self.floor


@dataclass
class BenchContext:
    """What a measuring module may rely on: the sizes the database was generated at."""

    items: int
    platforms: int
    requests: int
    repeat: int = 5
    work_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "takedown-bench")
    only: set[str] = field(default_factory=set)  # sections to run; empty means all
