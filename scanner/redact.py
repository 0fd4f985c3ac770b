"""Redaction at record time: secrets never reach a snapshot, a report or a log.

Rules applied by every collector before a raw object is kept:
- a field whose *name* says it holds a secret (password, secret, token, private key,
  connection string, user data...) has its value replaced;
- so has the value of a name/value pair whose name says so (`{"name": "DB_PASSWORD",
  "value": ...}`: app settings, container environments, tag lists);
- a field whose name says so and holds its value in a wrapper (a Terraform configuration
  expression `{"constant_value": ...}`, an AWS `{"Value": ...}`) or as a list of strings has
  every string inside replaced (a `references` list of addresses stays: it names, it does
  not hold); a record *about* a secret (`AccessKeyMetadata`: user, date, status) stays;
- a string value that *looks* like a credential is replaced wherever it appears, and a
  mapping key that looks like one is replaced too (with its value). What looks like one is
  decided by the gitleaks ruleset (scanner/secret_formats.py: some 220 vendor token formats,
  the generic `key = value` assignment, private key blocks, JWTs; maintained upstream and
  shipped as data), plus the few forms below that are specific to cloud APIs (URL with a
  password, Azure AccountKey=, bearer tokens, `password=...` assignments).
The paths of what was removed (never the values) go into the snapshot's `redacted` list.

`scrub` cleans free text the same way (an API's error message, which may quote what it was
sent, or the token it rejected), plus the credentials the scan itself holds.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from scanner import secret_formats

REDACTED = "<redacted>"

SECRET_NAME = re.compile(
    r"(passw(or)?d|passwd|pwd|passphrase|secret|token|api[_-]?key|access[_-]?key|"
    r"private[_-]?key|credential|connection[_-]?string|conn[_-]?str|user[_-]?data|"
    r"custom[_-]?data|sas[_-]?key|client[_-]?secret|auth|"
    # `db_pass`, `smtp-pass`, `pass`: "pass" as a word (not "passive", "bypass_cache")
    r"(^|[_.\-\s])pass($|[_.\-\s])|"
    # keys that are key material by their qualifier (not key_id, key_name, public_key)
    r"(encryption|encrypt|master|signing|sign|shared|license|licence|hmac|storage|account|"
    r"primary|secondary|session|secret|app|aes|jwt|cookie|webhook|deploy|recovery|"
    r"service[_-]?account)[_-]?key($|[_.\-\s]|s$))",
    re.IGNORECASE,
)
# camelCase forms of the word rules above: dbPass, smtpPass, encryptionKey, masterKey
_SECRET_CAMEL = re.compile(
    r"[a-z0-9]Pass(word)?($|[A-Z0-9_])|(encryption|master|signing|shared|license|hmac|storage|"
    r"account|primary|secondary|session|secret|aes|jwt|webhook|recovery)Key($|[A-Z0-9_]|s$)",
)
SECRET_VALUE = re.compile(
    r"(AKIA|ASIA)[0-9A-Z]{16}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"
    r"|(?i:\b(password|passwd|pwd|secret|token|api_key|apikey)\s*[=:]\s*\S+)"
    r"|(?i:AccountKey=)[A-Za-z0-9+/=]{20,}"
    r"|\bghp_[A-Za-z0-9]{36}\b"
    r"|\bxox[baprs]-[A-Za-z0-9-]{10,}"
    r"|(?i:\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"
    r"|\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",  # a JWT
)
# In free text a private key block is removed whole, to its END line (or the end of the text).
_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE "
                        r"KEY-----|\Z)", re.DOTALL)
PAIR_NAME_KEYS = ("name", "Name", "key", "Key")
PAIR_VALUE_KEYS = ("value", "Value")
# Keys that look secret-ish but are not (they hold names or booleans).
NOT_SECRET = frozenset({
    "token_readonly", "disable_password_authentication", "disablepasswordauthentication",
    "auth_type", "authentication", "key_id", "keyid", "public_key", "ssh_keys",
})


@lru_cache(maxsize=1 << 14)
def is_secret_name(name: str) -> bool:
    return name.lower() not in NOT_SECRET and bool(
        SECRET_NAME.search(name) or _SECRET_CAMEL.search(name))


def looks_secret(value: str) -> bool:
    """Whether `value` holds a credential (short values, which repeat across an estate:
    remembered)."""
    return _looks_short(value) if len(value) <= 256 else _looks(value)


def _looks(value: str) -> bool:
    return bool(SECRET_VALUE.search(value)) or secret_formats.found(value)


_looks_short = lru_cache(maxsize=1 << 16)(_looks)


def secret_pair(obj: dict[str, Any]) -> tuple[str, str] | None:
    """(name, value key) of a name/value pair whose name says it holds a secret, or None."""
    for name_key in PAIR_NAME_KEYS:
        name = obj.get(name_key)
        if isinstance(name, str) and is_secret_name(name):
            value_key = next((k for k in PAIR_VALUE_KEYS if k in obj), None)
            return (name, value_key) if value_key else None
    return None


def scrub(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` with the credentials in `secrets` and everything that looks like a credential
    replaced by <redacted>."""
    for secret in sorted((s for s in secrets if s and len(s) >= 8), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return secret_formats.mask(SECRET_VALUE.sub(REDACTED, _PEM_BLOCK.sub(REDACTED, text)),
                               REDACTED)


def redact(obj: Any, path: str, removed: list[str], label_keys: tuple[str, ...] = ()) -> Any:
    """A copy of `obj` with secrets replaced; each removed path appended to `removed`.

    `label_keys` names mappings (labels, tags) whose keys are user-chosen: there the key
    decides, and the path recorded is the label key (a name, never the value)."""
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        pair = secret_pair(obj)
        for key, value in obj.items():
            if isinstance(key, str) and looks_secret(key):  # a key that is itself a secret
                key = f"{REDACTED}#{len(out)}"
                out[key] = REDACTED
                removed.append(f"{path}.{key}")
                continue
            if isinstance(value, str | bytes) and value and pair and key == pair[1]:
                out[key] = REDACTED
                name = REDACTED if looks_secret(pair[0]) else pair[0]
                removed.append(f"{path}[{name}]")  # the pair's name, never its value
            elif isinstance(value, str | bytes) and value and is_secret_name(str(key)):
                out[key] = REDACTED
                removed.append(f"{path}.{key}")
            elif _holds_values(value) and is_secret_name(str(key)):
                out[key] = _redact_all(value, f"{path}.{key}", removed)
            elif isinstance(value, str):  # the common leaf: its path built only if removed
                if looks_secret(value):
                    removed.append(f"{path}.{key}")
                    out[key] = REDACTED
                else:
                    out[key] = value
            elif isinstance(value, dict | list):
                out[key] = redact(value, f"{path}.{key}", removed, label_keys)
            else:
                out[key] = value  # numbers, booleans, None, bytes: nothing to look at
        return out
    if isinstance(obj, list):
        sub = f"{path}[]"
        return [redact(v, sub, removed, label_keys) for v in obj]
    if isinstance(obj, str) and looks_secret(obj):
        removed.append(path)
        return REDACTED
    return obj


# Wrappers that hold a field's value itself: a Terraform configuration expression
# ({"constant_value": ..., "references": [...]}), an AWS attribute ({"Value": ...}).
_VALUE_WRAPPERS = frozenset({"constant_value", "references", "value", "Value"})


def _holds_values(value: Any) -> bool:
    """A structure that is the value of its field (a value wrapper, or a list of strings),
    not a record about it: `AccessKeyMetadata` (user names, dates, status) under a name that
    says access key stays readable."""
    if isinstance(value, dict):
        return bool(value) and set(value) <= _VALUE_WRAPPERS and set(value) != {"references"}
    if isinstance(value, list):
        return bool(value) and all(isinstance(v, str | bytes) for v in value)
    return False


def _redact_all(obj: Any, path: str, removed: list[str]) -> Any:
    """Every non-empty string inside `obj` (held under a secret's name) replaced; the path
    of each recorded. A `references` list (Terraform: the addresses an expression names)
    stays."""
    if isinstance(obj, dict):
        return {k: v if k == "references" else _redact_all(v, f"{path}.{k}", removed)
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [_redact_all(v, f"{path}[]", removed) for v in obj]
    if isinstance(obj, str | bytes) and obj and obj != REDACTED:  # not twice
        removed.append(path)
        return REDACTED
    return obj
