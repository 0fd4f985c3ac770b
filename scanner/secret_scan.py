"""Where a configuration holds a plaintext secret: one scanner for every source (SEC-01).

The live AWS collector (providers/aws/collect.py: EC2 user data, Lambda environments, ECS
container environments) and the Terraform plan reader (providers/terraform/secrets.py: the
same attributes as planned, and Azure's and Hetzner's) both call these functions, so that a
value flagged live is flagged in a plan. What looks secret is decided by scanner.redact (a
secret's name, the gitleaks ruleset). Functions return names and paths, never values.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from scanner import user_data
from scanner.redact import REDACTED, is_secret_name, looks_secret

_SECRET_ASSIGNMENT = re.compile(
    r"^\s*(?:export\s+|set\s+|ENV\s+)?[\"']?([A-Za-z_][A-Za-z0-9_.-]*)[\"']?\s*[=:]\s*(.*)$")
# A value that names where a secret is kept, not the secret: an ARN (Secrets Manager, SSM),
# a CloudFormation dynamic reference, a shell substitution, and an App Service Key Vault
# reference (`@Microsoft.KeyVault(SecretUri=...)`: https://learn.microsoft.com/azure/
# app-service/app-service-key-vault-references)
_REFERENCE = re.compile(r"^(arn:|\{\{resolve:|ssm:|/aws/reference/|\$\{|\$\(|secretsmanager:|"
                        r"@microsoft\.keyvault\()", re.IGNORECASE)


# a flag's value is no secret, whatever its name says (`ssh_pwauth: false`, a cloud-config
# key every image's cloud-init reads: "auth" is in the secret-name rule)
_FLAGS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "none", "~"})


def is_reference(value: str) -> bool:
    return bool(_REFERENCE.match(value.strip().strip("\"'")))


def secret_value(name: str, value: str) -> bool:
    """A named value (environment variable, app setting, user-data assignment) holding a
    secret."""
    text = value.strip().strip("\"'")
    if not text or is_reference(text) or text.lower() in _FLAGS:
        return False
    return is_secret_name(name) or looks_secret(f"{name}={text}") or looks_secret(text)


def scan_text(text: str) -> list[str]:
    """Names of secret assignments in a script or config text (`line N` when unnamed)."""
    found: list[str] = []
    for i, line in enumerate(text.splitlines(), 1):
        m = _SECRET_ASSIGNMENT.match(line)
        if m and secret_value(m.group(1), m.group(2)):
            found.append(m.group(1))
        elif looks_secret(line):
            found.append(f"line {i}")
    return sorted(set(found), key=found.index)


def scan_containers(task: dict[str, Any]) -> list[str] | None:
    """Names (`containerDefinitions[app].environment.DB_PASSWORD`) of the secret-looking
    environment values of every container of an ECS task definition, each value replaced by
    the marker in place; None when no container has an environment. (`secrets` entries name
    a Secrets Manager or SSM `valueFrom`: references, not values.)"""
    flagged: list[str] = []
    seen = False
    for i, container in enumerate(task.get("containerDefinitions") or []):
        if not isinstance(container, dict) or not isinstance(container.get("environment"),
                                                             list):
            continue
        label = container.get("name") or str(i)
        for var in container["environment"]:
            if not isinstance(var, dict):
                continue
            seen = True
            if "value" in var:
                if secret_value(str(var.get("name")), str(var["value"])):
                    flagged.append(f"containerDefinitions[{label}].environment."
                                   f"{var.get('name')}")
                var["value"] = REDACTED
    return flagged if seen else None


def decode_user_data(value: str) -> str:
    """Base64 user data (EC2's DescribeInstanceAttribute, a launch template's, Azure's
    customData/userData) as text: see user_data_text."""
    return user_data_text(base64.b64decode(value, validate=False))


def user_data_text(raw: bytes) -> str:
    """User data as text: gzip undone, and a MIME archive read part by part, each part's
    transfer encoding and gzip undone, as cloud-init reads it (scanner.user_data; bounded:
    UserDataUnscanned past its bounds or in a corrupt gzip stream)."""
    return user_data.decode(raw)


def decoded_text(value: str) -> str | None:
    """The text a base64 value encodes (gzip and MIME parts undone: user_data_text), or None
    when it is not base64 of text (plain text, or base64 of binary such as a key).
    UserDataUnscanned (from user_data_text) past the decoding's bounds."""
    if len(value) < 4:
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):  # not base64
        return None
    text = user_data_text(raw)
    return None if "\ufffd" in text else text


def user_data_findings(value: str, encoded: bool = False) -> tuple[list[str], str | None]:
    """Names of the secrets in user data or custom data given as a string: base64 (always,
    `encoded`: EC2's DescribeInstanceAttribute, a launch template's) or, where it may be
    either (a Terraform `user_data`, Azure's customData read back), base64 of text or the
    text itself. The decoded text is scanned, never the base64 blob (whose letters the
    token rules may take for a key). With them, why part of it was not scanned (None: all
    was): past scanner.user_data's bounds or in a corrupt gzip stream, what was decoded
    before is scanned, the rest is not known."""
    unscanned: str | None = None
    try:
        decoded = decoded_text(value)
        if decoded is None and encoded:
            try:
                decoded = decode_user_data(value)
            except user_data.UserDataUnscanned:
                raise
            except (binascii.Error, ValueError):  # not base64 after all
                decoded = None
    except user_data.UserDataUnscanned as exc:
        decoded, unscanned = exc.text, exc.why
    text = decoded if decoded is not None else value
    found = scan_text(text)
    if not found and looks_secret(text):
        found = ["(whole text)"]  # a rule that needs more than one line (a key block)
    return found, unscanned

