"""What the loader has built so far, shared by the parts that add to it."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from demo import dataset as data
from demo.timeline import Backdater, Timeline
from platforms.models import Contact, Platform


@dataclass
class World:
    rng: random.Random
    timeline: Timeline
    dates: Backdater
    users: dict[str, Any] = field(default_factory=dict)
    platforms: dict[str, Platform] = field(default_factory=dict)
    contacts: dict[str, list[Contact]] = field(default_factory=dict)

    def done(self, when: datetime) -> datetime:
        """After a service call: the audit events it wrote happened at ``when``."""
        return self.dates.happened(when)

    def hours(self, span: tuple[float, float]) -> timedelta:
        return timedelta(hours=self.rng.uniform(*span))

    def supervisors(self, week: int) -> tuple[Any, Any]:
        """(on duty, the other one): carol and dave take turns by week."""
        first, second = (self.users[name] for name in data.SUPERVISORS)
        return (first, second) if week % 2 == 0 else (second, first)

    def officer(self, week: int) -> Any:
        return self.users[data.OFFICERS[week % 2]]

    def primary_contact(self, platform: str, *, email: bool = False) -> Contact | None:
        contacts = [c for c in self.contacts[platform] if c.email or not email]
        return next((c for c in contacts if c.is_primary), contacts[0] if contacts else None)
