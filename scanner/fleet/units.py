"""The unit of a fleet scan: one account (AWS), subscription (Azure) or project (Hetzner),
and what happened to it. Units travel through the Celery broker as JSON: they carry where
credentials are (a role ARN, an environment variable's name, a file path), never a secret."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scanner.errors import PostureError


@dataclass(frozen=True, slots=True)
class Unit:
    provider: str  # aws, azure, hetzner
    account: str  # AWS account id, Azure subscription id, Hetzner project name
    name: str = ""  # what the organisation calls it (account name, display name)
    options: dict[str, Any] = field(default_factory=dict)  # JSON: provider options

    @property
    def key(self) -> str:
        return f"{self.provider}:{self.account}"

    def to_json(self) -> dict[str, Any]:
        return {"provider": self.provider, "account": self.account, "name": self.name,
                "options": dict(self.options)}

    @classmethod
    def from_json(cls, data: Any) -> Unit:
        if not isinstance(data, dict) or not isinstance(data.get("options"), dict):
            raise PostureError("fleet: malformed unit")
        try:
            return cls(provider=str(data["provider"]), account=str(data["account"]),
                       name=str(data.get("name", "")), options=dict(data["options"]))
        except KeyError as exc:
            raise PostureError(f"fleet: malformed unit (no {exc})") from None


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one unit of a run ended: `ok` with the scan stored under `scan_id`, or `error`
    (it could not be scanned after its retries) with one line saying why."""

    unit: Unit
    status: str  # ok | error
    scan_id: int | None
    message: str
    duration: float
    attempts: int
    counts: dict[str, int] = field(default_factory=dict)  # findings by status
