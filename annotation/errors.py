"""Domain errors. Services raise these; the API maps them to HTTP in one handler."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request that the domain refuses. ``status`` is the HTTP status the API answers with."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "detail": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class InvalidInput(DomainError):
    code = "invalid"


class ImportRefused(DomainError):
    """An upload was refused as a whole; ``details`` lists every ``file:line: reason``."""

    code = "import_refused"

    def __init__(self, problems: list[str]) -> None:
        shown = "\n".join(problems[:50])
        more = f"\n... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"Import refused ({len(problems)} problem(s)); nothing was saved.\n{shown}{more}",
                         details=problems)
        self.problems = problems


class VersionConflict(DomainError):
    """A write carried a stale version; ``details`` holds the current state."""

    status = 409
    code = "version_conflict"


class NotAllowed(DomainError):
    status = 403
    code = "not_allowed"
