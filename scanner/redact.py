"""Redaction at record time: secrets never reach a snapshot, a report or a log.

Two rules, applied by every collector before a raw object is kept:
- a field whose *name* says it holds a secret (password, secret, token, private key,
  connection string, user data...) has its value replaced;
- a string value that *looks* like a credential (AWS access key, private key block, bearer
  token, URL with a password, `password=...` assignments) is replaced wherever it appears.
The paths of what was removed (never the values) go into the snapshot's `redacted` list.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "<redacted>"

SECRET_NAME = re.compile(
    r"(passw(or)?d|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|"
    r"credential|connection[_-]?string|conn[_-]?str|user[_-]?data|custom[_-]?data|sas[_-]?key|"
    r"client[_-]?secret|auth)",
    re.IGNORECASE,
)
SECRET_VALUE = re.compile(
    r"(AKIA|ASIA)[0-9A-Z]{16}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"
    r"|(?i:\b(password|passwd|pwd|secret|token|api_key|apikey)\s*[=:]\s*\S+)"
    r"|(?i:AccountKey=)[A-Za-z0-9+/=]{20,}"
    r"|\bghp_[A-Za-z0-9]{36}\b"
    r"|\bxox[baprs]-[A-Za-z0-9-]{10,}",
)
# Keys that look secret-ish but are not (they hold names or booleans).
NOT_SECRET = frozenset({
    "token_readonly", "disable_password_authentication", "disablepasswordauthentication",
    "auth_type", "authentication", "key_id", "keyid", "public_key", "ssh_keys",
})


def is_secret_name(name: str) -> bool:
    return name.lower() not in NOT_SECRET and bool(SECRET_NAME.search(name))


def looks_secret(value: str) -> bool:
    return bool(SECRET_VALUE.search(value))


def redact(obj: Any, path: str, removed: list[str], label_keys: tuple[str, ...] = ()) -> Any:
    """A copy of `obj` with secrets replaced; each removed path appended to `removed`.

    `label_keys` names mappings (labels, tags) whose keys are user-chosen: there the key
    decides, and the path recorded is the label key (a name, never the value)."""
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for key, value in obj.items():
            sub = f"{path}.{key}"
            if isinstance(value, str | bytes) and value and is_secret_name(str(key)):
                out[key] = REDACTED
                removed.append(sub)
            else:
                out[key] = redact(value, sub, removed, label_keys)
        return out
    if isinstance(obj, list):
        return [redact(v, f"{path}[]", removed, label_keys) for v in obj]
    if isinstance(obj, str) and looks_secret(obj):
        removed.append(path)
        return REDACTED
    return obj
