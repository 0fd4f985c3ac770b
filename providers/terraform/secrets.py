"""SEC-01 in plans: the attributes a live scan reads for plaintext secrets, scanned as planned.

Run by the plan reader (providers/terraform/plan.py) and the configuration reader (hcl.py)
on the values *before* they are redacted: the entry keeps only what was found, by name
(`secrets`: {"flagged": [...], "unknown": [...], "hidden": [...]}), never a value. The
rules and the decoding are the live scans' (scanner/secret_scan.py: user data through
base64, gzip and MIME parts; named values by their name or a secret-looking value; a
reference such as an ARN or a Key Vault reference is no secret).

What is scanned (as the live collectors read it):
- AWS: `aws_instance` / `aws_launch_configuration` `user_data` and `user_data_base64`,
  `aws_launch_template.user_data` (base64), `aws_lambda_function.environment.variables`,
  `aws_ecs_task_definition.container_definitions` (JSON: every container's `environment`;
  `secrets` with `valueFrom` are references);
- Azure: VMs and scale sets `custom_data` and `user_data` (base64), the legacy
  `azurerm_virtual_machine(_scale_set).os_profile.custom_data`, App Service web and function
  apps (and their slots) `app_settings`;
- Hetzner: `hcloud_server.user_data`.

Sensitive values are scanned like the others: Terraform marks them (`after_sensitive`) but
writes them in the plan ("sensitive values are still recorded in the plan and state":
https://developer.hashicorp.com/terraform/internals/json-format, `after_sensitive`;
https://developer.hashicorp.com/terraform/language/values/variables#suppressing-values-in-cli-output),
and the provider sends them to the cloud as they are: a sensitive variable in user data is
a plaintext secret in the resource's configuration all the same.

What cannot be seen is never a pass:
- `unknown`: a value known only after apply (`after_unknown`): the engine judges it in two
  worlds (error). A named value (an environment variable, an app setting) known after apply
  is no secret when the configuration shows it comes from another resource's non-secret
  attribute (`aws_sqs_queue.q.url`): its name says no secret, Terraform does not mark it
  sensitive, and its expression references only such attributes (or variables, which are
  known when planning);
- `hidden`: a value the provider writes into the plan only as a hash of it (SHA-1:
  `aws_instance.user_data` before AWS provider 6.0, whose upgrade guide says it "no longer
  applies hashing"; `aws_launch_configuration.user_data`; the legacy azurerm
  `os_profile.custom_data`; `hcloud_server.user_data`): judged from the configuration's
  literal when there is one, else not known (error).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from providers.terraform.core import Builder, Entry, World
from providers.terraform.plan import any_true, mark_at
from scanner.model import Unread
from scanner.redact import REDACTED, is_secret_name, looks_secret
from scanner.secret_scan import scan_containers, secret_value, user_data_findings

TEXT, BASE64, SETTINGS, CONTAINERS = "text", "base64", "settings", "containers"
SHA1_HEX = re.compile(r"[0-9a-f]{40}")
HASH_DOC = {
    "aws": "the AWS provider before 6.0 plans it as the SHA-1 of its content (Version 6 "
           "Upgrade Guide, resource/aws_instance: `user_data` \"no longer applies hashing\")",
    "azurerm": "the azurerm provider plans it as the SHA-1 of its content "
               "(userDataStateFunc)",
    "hcloud": "the hcloud provider plans it as the SHA-1 of its content (userDataHashSum)",
}


@dataclass(frozen=True)
class Field:
    """An attribute holding configuration a secret may be in. `path`: into the planned
    values, "*" for every block of a nested block list; `hashed`: the provider plans the
    value as a hash (the key of HASH_DOC)."""

    path: tuple[str, ...]
    form: str
    hashed: str = ""


_USER_DATA = (Field(("user_data",), TEXT, "aws"), Field(("user_data_base64",), BASE64))
_AZURE_VM = (Field(("custom_data",), BASE64), Field(("user_data",), BASE64))
_LEGACY_VM = (Field(("os_profile", "*", "custom_data"), TEXT, "azurerm"),)
_SETTINGS = (Field(("app_settings",), SETTINGS),)
WEB_APPS = frozenset({
    "azurerm_linux_web_app", "azurerm_windows_web_app", "azurerm_linux_function_app",
    "azurerm_windows_function_app", "azurerm_linux_web_app_slot",
    "azurerm_windows_web_app_slot", "azurerm_linux_function_app_slot",
    "azurerm_windows_function_app_slot", "azurerm_app_service", "azurerm_function_app",
    "azurerm_app_service_slot", "azurerm_function_app_slot",
})
FIELDS: Mapping[str, tuple[Field, ...]] = {
    "aws_instance": _USER_DATA,
    "aws_launch_configuration": _USER_DATA,
    "aws_launch_template": (Field(("user_data",), BASE64),),
    "aws_lambda_function": (Field(("environment", "*", "variables"), SETTINGS),),
    "aws_ecs_task_definition": (Field(("container_definitions",), CONTAINERS),),
    "azurerm_linux_virtual_machine": _AZURE_VM,
    "azurerm_windows_virtual_machine": _AZURE_VM,
    "azurerm_linux_virtual_machine_scale_set": _AZURE_VM,
    "azurerm_windows_virtual_machine_scale_set": _AZURE_VM,
    "azurerm_virtual_machine": _LEGACY_VM,
    "azurerm_virtual_machine_scale_set": _LEGACY_VM,
    **{t: _SETTINGS for t in WEB_APPS},
    "hcloud_server": (Field(("user_data",), TEXT, "hcloud"),),
}
# machines whose secret-looking tag names SEC-01 flags live (providers/azure/normalize)
TAGGED = frozenset({"azurerm_linux_virtual_machine", "azurerm_windows_virtual_machine",
                    "azurerm_virtual_machine", "azurerm_linux_virtual_machine_scale_set",
                    "azurerm_windows_virtual_machine_scale_set",
                    "azurerm_virtual_machine_scale_set"})
# generators whose result is a secret that Terraform does not mark sensitive
_RANDOM = ("random_string.", "random_id.", "random_uuid.", "random_bytes.", "random_pet.")
_NEUTRAL = ("var.", "each.", "count.", "path.", "terraform.", "self.")


def scan(rtype: str, values: Any, unknown: Any, sensitive: Any, expressions: Any
         ) -> dict[str, list[str]] | None:
    """What the attributes of FIELDS hold, for a resource of type `rtype` (None: a type
    SEC-01 does not read). Names and paths only."""
    fields = FIELDS.get(rtype)
    if fields is None:
        return None
    out: dict[str, list[str]] = {"flagged": [], "unknown": [], "hidden": []}
    for f in fields:
        for path in _paths(values, unknown, f.path):
            _scan_one(f, path, values, unknown, sensitive, expressions, out)
    if rtype in TAGGED:  # as the live Azure reading: a tag named like a secret
        tags = values.get("tags") if isinstance(values, Mapping) else None
        out["flagged"] += [f"tags.{_name(str(k))}" for k in tags or {}
                           if is_secret_name(str(k))] if isinstance(tags, Mapping) else []
    return out


def _paths(values: Any, unknown: Any, spec: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """The concrete paths of a field ("*": each block planned, or one if none is known)."""
    paths: list[tuple[Any, ...]] = [()]
    for part in spec:
        if part != "*":
            paths = [(*p, part) for p in paths]
            continue
        grown: list[tuple[Any, ...]] = []
        for p in paths:
            node = mark_at(values, p)
            count = len(node) if isinstance(node, list) else 0
            grown.extend((*p, i) for i in range(max(count, 1 if mark_at(unknown, p) else 0)))
        paths = grown
    return paths


def _label(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in path if not isinstance(p, int))


def _name(name: str) -> str:
    """A user-chosen name as it may be reported (one that itself looks secret: never)."""
    return REDACTED if looks_secret(name) else name


def _scan_one(f: Field, path: tuple[Any, ...], values: Any, unknown: Any, sensitive: Any,
              expressions: Any, out: dict[str, list[str]]) -> None:
    label = _label(path)
    value = mark_at(values, path)
    if f.form == SETTINGS:
        _scan_settings(label, path, value, unknown, sensitive, expressions, out)
        return
    if any_true(mark_at(unknown, path)):
        out["unknown"].append(label)
        return
    if not isinstance(value, str) or not value:
        return  # not set
    if f.form == CONTAINERS:
        _scan_containers(label, value, out)
        return
    if f.hashed and _hashed(f.hashed, value):
        literal = mark_at(expressions, path)
        literal = literal.get("constant_value") if isinstance(literal, Mapping) else None
        if not isinstance(literal, str):
            out["hidden"].append(f"{label}: {HASH_DOC[f.hashed]}, and the configuration "
                                 "gives no literal value: its content is not in the plan")
            return
        value = literal
    found, unscanned = user_data_findings(value, encoded=f.form == BASE64)
    out["flagged"].extend(f"{label}:{_name(n)}" for n in found)
    if unscanned is not None:  # decoded only in part (a gzip bomb, a cut stream)
        out["hidden"].append(f"{label}: not scanned whole: {unscanned}")


def _hashed(kind: str, value: str) -> bool:
    if kind in ("aws", "azurerm"):
        return bool(SHA1_HEX.fullmatch(value))
    try:  # hcloud: base64 of the 20 bytes of a SHA-1
        return len(value) == 28 and len(base64.b64decode(value, validate=True)) == 20
    except (binascii.Error, ValueError):
        return False


def _scan_containers(label: str, value: str, out: dict[str, list[str]]) -> None:
    """ECS `container_definitions`: the JSON list of containers (the API's
    ContainerDefinition shape, as the live DescribeTaskDefinition answers it)."""
    try:
        containers = json.loads(value)
    except ValueError:
        out["hidden"].append(f"{label}: not valid JSON, its containers cannot be read")
        return
    if not isinstance(containers, list):
        out["hidden"].append(f"{label}: not a JSON list of containers")
        return
    found = scan_containers({"containerDefinitions": containers}) or []
    out["flagged"].extend(f"{label}{_name(n).removeprefix('containerDefinitions')}"
                          for n in found)


def _scan_settings(label: str, path: tuple[Any, ...], value: Any, unknown: Any,
                   sensitive: Any, expressions: Any, out: dict[str, list[str]]) -> None:
    """A map of named values (environment variables, app settings)."""
    unk = mark_at(unknown, path)
    if unk is True:
        out["unknown"].append(label)
        return
    if not isinstance(value, Mapping):
        return  # not set
    unknown_names = [str(k) for k in (unk or {}) if any_true(unk[k])] \
        if isinstance(unk, Mapping) else []
    for name, v in value.items():
        if name in unknown_names:
            continue
        if isinstance(v, str) and v and secret_value(str(name), v):
            out["flagged"].append(f"{label}.{_name(str(name))}")
    if unknown_names:
        refs = _references(mark_at(expressions, path))
        for name in unknown_names:
            if is_secret_name(name) or any_true(mark_at(sensitive, (*path, name))) or \
                    not _plain_references(refs):
                out["unknown"].append(f"{label}.{_name(name)}")


def _references(expr: Any) -> list[str] | None:
    """The references of an expression (None: no expression to read)."""
    if not isinstance(expr, Mapping):
        return None
    found: list[str] = [str(r) for r in expr.get("references") or []]
    for key, sub in expr.items():  # a map written as an object: one expression per key
        if key not in ("references", "constant_value") and isinstance(sub, Mapping):
            found += _references(sub) or []
    return found


def _plain_references(refs: list[str] | None) -> bool:
    """Do these references name only what cannot be a secret Terraform leaves unmarked:
    non-secret attributes of managed resources (not a random generator's result), or
    variables? A local, a module's output or a data source may hold anything."""
    if refs is None:
        return False
    for ref in refs:
        if ref.startswith(_NEUTRAL):
            continue
        if ref.startswith(("local.", "module.", "data.")) or ref.startswith(_RANDOM):
            return False
        parts = re.sub(r"\[[^\]]*\]", "", ref).split(".")
        if len(parts) > 2 and any(is_secret_name(p) for p in parts[2:]):
            return False
    return True


def scrub(rtype: str, values: Any, expressions: Any, address: str, removed: list[str]
          ) -> tuple[Any, Any]:
    """(values, expressions) with what the attributes of FIELDS hold replaced by the marker,
    as the live collectors store them: user data whole, every value of an environment or
    app settings map, every container environment value inside the JSON of
    `container_definitions` (its other fields stay). scanner.redact then does the rest; this
    reaches what it cannot see (a JSON string, a value under a name that says nothing).
    The path of each value replaced goes to `removed` (scanner.redact's form)."""
    fields = FIELDS.get(rtype)
    if not fields:
        return values, expressions
    values, expressions = _copy(values), _copy(expressions)
    for f in fields:
        for path in _paths(values, {}, f.path):
            where = "".join("[]" if isinstance(p, int) else f".{p}" for p in path)
            if _replace(values, path, lambda v, f=f: _scrubbed(f.form, v)):
                removed.append(f"{address}{where}")
            if _replace(expressions, path, _scrubbed_expression):
                removed.append(f"{address}.expressions{where}.constant_value")
    return values, expressions


def _scrubbed_expression(expr: Any) -> Any:
    if isinstance(expr, Mapping) and expr.get("constant_value") not in (None, "", REDACTED):
        return {**expr, "constant_value": REDACTED}
    return expr


def _copy(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {k: _copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_copy(v) for v in node]
    return node


def _replace(root: Any, path: tuple[Any, ...], how: Any) -> bool:
    """Replace the node at `path` by `how(node)`; whether that changed it."""
    node = root
    for p in path[:-1]:
        if isinstance(node, dict):
            node = node.get(p)
        elif isinstance(node, list) and isinstance(p, int) and 0 <= p < len(node):
            node = node[p]
        else:
            return False
    if isinstance(node, dict) and path[-1] in node:
        old = node[path[-1]]
        node[path[-1]] = how(old)
        return bool(node[path[-1]] != old)
    return False


def _scrubbed(form: str, value: Any) -> Any:
    if value is None or value == "":
        return value
    if form == SETTINGS:
        return {k: REDACTED if isinstance(v, str) and v else v for k, v in value.items()} \
            if isinstance(value, Mapping) else REDACTED
    if form == CONTAINERS and isinstance(value, str):
        try:
            containers = json.loads(value)
        except ValueError:
            return REDACTED
        if not isinstance(containers, list):
            return REDACTED
        scan_containers({"containerDefinitions": containers})  # values -> the marker
        return json.dumps(containers)
    return REDACTED


# --- normalizing: the model's `plaintext_secrets` -------------------------------------------


def judge(b: Builder, rid: str, world: World, entries: Sequence[Entry],
          prefixed: bool = False) -> None:
    """`plaintext_secrets` of resource `rid` from what was found in `entries` (its own, or a
    scaling group's launch templates: then each name is prefixed by the template's address):
    at its most exposed every value known only after apply may hold one, at its least none
    does (the engine says error when the two differ); a value the plan holds only as a hash,
    or an entry recorded before plans were scanned, makes a pass unsafe (Unread)."""
    most: list[str] = []
    least: list[str] = []
    for e in entries:
        found = e.raw.get("sec01")
        pre = f"{e.address}." if prefixed else ""
        if not isinstance(found, Mapping):
            b.mark(rid, ("plaintext_secrets",), Unread(
                f"{e.address}: its configuration was not scanned for secrets (read by a "
                "posture that did not scan plans)", "not_collected", opens=True,
                closes=False))
            continue
        flagged = [pre + str(n) for n in found.get("flagged") or []]
        most += flagged + [f"{pre}{n} (known after apply)" for n in found.get("unknown") or []]
        least += flagged
        for why in found.get("hidden") or []:
            b.mark(rid, ("plaintext_secrets",), Unread(f"{e.address}.{why}", "unknown",
                                                      opens=True, closes=False))
    world.set("plaintext_secrets", most, least)
