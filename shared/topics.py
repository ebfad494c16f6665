"""Topic names, scoped by center; one work topic per department.

A department's bridge is only ever granted its own work topic, so it sees only its own work.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "lianban"


@dataclass(frozen=True)
class Topics:
    center: str

    def _name(self, suffix: str) -> str:
        return f"{PREFIX}.{self.center}.{suffix}"

    @property
    def case_events(self) -> str:
        """Lifecycle of each case as the lead window records it (case.submitted...)."""
        return self._name("case.events")

    def work(self, department: str) -> str:
        """Work orders for one department."""
        return self._name(f"work.{department}")

    @property
    def department_actions(self) -> str:
        """What departments' systems did on their parts, for the case to check and record."""
        return self._name("department.actions")

    @property
    def replies(self) -> str:
        """The one unified reply per case."""
        return self._name("case.replies")

    @property
    def alerts(self) -> str:
        """Supervision's alerts (overdue...)."""
        return self._name("supervision.alerts")

    @property
    def acknowledgements(self) -> str:
        """Departments' acknowledgements (回告) of supervision notices."""
        return self._name("supervision.acks")

    @property
    def dead_letters(self) -> str:
        """Messages that could not be handled, with the cause and where they came from."""
        return self._name("dead-letters")
