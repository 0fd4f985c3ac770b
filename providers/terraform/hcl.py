"""Plain Terraform configuration (`*.tf`, no plan): best effort, with python-hcl2.

`posture scan infra/` (a folder of .tf files, or one .tf file) reads the root module's
resource blocks into the same section a plan gives, so the same normalizers and checks run.
What a configuration alone cannot tell is unknown, never guessed:
- any value written as an expression (a variable, a local, another resource's attribute, a
  function call, an interpolated string) is unknown until apply: `after_unknown`, with its
  references kept so that relations (a security group on an instance) are still found;
- variables are not evaluated (a default can be overridden by any tfvars file);
- `count`/`for_each` with a literal number, list or map are expanded; with an expression the
  block is read as one instance;
- module calls are not expanded: each is listed as not assessed ("plan it to judge it");
- provider defaults apply as for a plan where an attribute is absent (see docs/terraform.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from providers.terraform.plan import PlanError, account_name
from scanner import inputs, snapshot
from scanner.redact import redact
from scanner.snapshot import GLOBAL, Section

_EXPR = re.compile(r"\$\{")
_TOKEN = re.compile(r"\b((?:data\.)?[a-z][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_-]*"
                    r"(?:\[[^\]]*\])?(?:\.[A-Za-z_][A-Za-z0-9_]*)*)")
REGISTRY = {"aws": "registry.terraform.io/hashicorp/aws",
            "azurerm": "registry.terraform.io/hashicorp/azurerm",
            "hcloud": "registry.terraform.io/hetznercloud/hcloud"}


def recognises(path: Path) -> bool:
    if path.is_dir():
        return any(path.glob("*.tf"))
    return path.suffix == ".tf" and path.is_file()


def _load(files: list[Path]) -> list[tuple[Path, dict[str, Any]]]:
    import hcl2
    from hcl2.utils import SerializationOptions

    options = SerializationOptions(with_comments=False, strip_string_quotes=True)
    out = []
    for file in files:
        try:
            # regular files only, size-limited (scanner.inputs: a FIFO named *.tf is refused)
            text = inputs.read_text(file, inputs.TEXT_LIMIT)
            out.append((file, hcl2.loads(text, serialization_options=options)))
        except (OSError, UnicodeDecodeError) as exc:
            raise PlanError(f"{file}: cannot read: {exc}") from exc
        except Exception as exc:  # the HCL parser's own errors: bad input, named
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise PlanError(f"{file}: not valid HCL ({first})") from exc
    return out


def _refs(text: str) -> list[str]:
    found: list[str] = []
    for inner in re.findall(r"\$\{(.*?)\}", text, re.DOTALL) or [text]:
        for token in _TOKEN.findall(inner):
            if token not in found:
                found.append(token)
    return found


def _convert(value: Any) -> tuple[Any, Any, Any]:
    """An hcl2 value -> (value, after_unknown, expressions)."""
    if isinstance(value, str) and _EXPR.search(value):
        return None, True, {"references": _refs(value)}
    if isinstance(value, list):
        items: list[Any] = []
        unknowns: list[Any] = []
        exprs: list[Any] = []
        for item in value:
            v, u, e = _convert(item)
            items.append(v)
            unknowns.append(u)
            exprs.append(e)
        if value and all(isinstance(item, dict) for item in value):  # nested blocks
            expr: Any = exprs
        else:
            refs = [r for e in exprs if isinstance(e, Mapping) for r in e.get("references", [])]
            expr = {"references": refs} if refs else {"constant_value": items}
        return items, (unknowns if any(u is not False for u in unknowns) else False), expr
    if isinstance(value, dict):
        fields: dict[str, Any] = {}
        unknown: dict[str, Any] = {}
        field_exprs: dict[str, Any] = {}
        for k, item in value.items():
            if str(k).startswith("__"):
                continue
            v, u, e = _convert(item)
            fields[str(k)] = v
            if u is not False:
                unknown[str(k)] = u
            field_exprs[str(k)] = e
        return fields, (unknown or False), field_exprs
    return value, False, {"constant_value": value}


def _instances(block: Mapping[str, Any]) -> list[Any]:
    count, each = block.get("count"), block.get("for_each")
    if isinstance(count, int):
        return list(range(count))
    if isinstance(each, list) and all(isinstance(k, str) and "${" not in k for k in each):
        return list(each)
    if isinstance(each, dict) and not any("${" in str(k) for k in each):
        return [str(k) for k in each if not str(k).startswith("__")]
    return [None]


def _provider_regions(docs: list[tuple[Path, dict[str, Any]]]) -> dict[str, str | None]:
    regions: dict[str, str | None] = {}
    for _, doc in docs:
        for entry in doc.get("provider") or []:
            for name, body in entry.items():
                body = body if isinstance(body, Mapping) else {}
                key = f"{name}.{body['alias']}" if body.get("alias") else str(name)
                region = body.get("region")
                regions[key] = region if isinstance(region, str) and "${" not in region \
                    else None
    return regions


def read(path: Path, mapped: frozenset[str], covered: frozenset[str]
         ) -> tuple[list[Section], dict[str, Any]]:
    from providers.terraform import secrets
    from providers.terraform.locate import block_locations

    root = path if path.is_dir() else path.parent
    files = sorted(root.glob("*.tf")) if path.is_dir() else [path]
    docs = _load(files)
    regions = _provider_regions(docs)
    locations = block_locations(root, {"": "."})
    section = Section(provider="terraform", account=account_name(root if path.is_dir()
                                                                 else path),
                      collected_at=snapshot.now())
    entries: list[dict[str, Any]] = []
    not_assessed: list[dict[str, Any]] = []
    for file, doc in docs:
        for call in doc.get("module") or []:
            for name in call:
                not_assessed.append({"id": f"module.{name}", "type": "module",
                                     "reason": "module_not_expanded",
                                     "message": "modules are expanded only in a plan: plan "
                                                "it to judge it"})
        for entry in doc.get("resource") or []:
            for rtype, named in entry.items():
                for name, block in (named or {}).items():
                    if not isinstance(block, Mapping):
                        continue
                    short = str(rtype).split("_", 1)[0]
                    if rtype not in mapped:
                        why = "type_not_covered" if short in covered else "provider_not_covered"
                        text = ("posture has no mapping for this resource type"
                                if short in covered else f"posture does not cover provider "
                                                         f"{short}")
                        not_assessed.append({"id": f"{rtype}.{name}", "type": rtype,
                                             "reason": why, "message": text})
                        continue
                    values, unknown, exprs = _convert(
                        {k: v for k, v in block.items()
                         if k not in ("count", "for_each", "provider", "lifecycle",
                                      "depends_on")})
                    # SEC-01 scanned before redaction, as for a plan (plan.py): names only
                    found = secrets.scan(rtype, values, unknown or {}, None, exprs)
                    removed: list[str] = []
                    values, exprs = secrets.scrub(rtype, values, exprs, f"{rtype}.{name}",
                                                  removed)
                    values = redact(values, f"{rtype}.{name}", removed,
                                    label_keys=("tags", "tags_all", "labels"))
                    exprs = redact(exprs, f"{rtype}.{name}.expressions", removed)
                    section.redacted.extend(removed)
                    provider = block.get("provider")
                    key = short
                    if isinstance(provider, str):
                        key = provider.removeprefix("${").removesuffix("}")
                    where = locations.get(("", f"{rtype}.{name}"))
                    for index in _instances(block):
                        suffix = "" if index is None else (
                            f"[{index}]" if isinstance(index, int) else f'["{index}"]')
                        item: dict[str, Any] = {
                            "address": f"{rtype}.{name}{suffix}", "module_address": "",
                            "type": rtype, "name": name, "index": index,
                            "provider_name": REGISTRY.get(short, short),
                            "provider_config_key": key, "provider_alias": None,
                            "provider_version_constraint": "",
                            "region": regions.get(key), "values": values,
                            "after_unknown": unknown or {}, "actions": ["create"],
                            "expressions": exprs,
                        }
                        if found is not None:
                            item["sec01"] = found
                        if where:
                            item["file"], item["line"] = where
                        else:
                            item["file"], item["line"] = str(file), None
                        entries.append(item)
    section.add("resources", GLOBAL, entries)
    section.add("not_assessed", GLOBAL, sorted(not_assessed, key=lambda o: o["id"]))
    section.add("plan", GLOBAL, [{"kind": "configuration", "format_version": "",
                                  "terraform_version": "", "changed_only": False}])
    section.locations = sorted({r for r in regions.values() if r})
    described = {"type": "terraform-configuration", "name": str(path),
                 "accounts": [f"terraform:{section.account}"], "files": len(files),
                 "resources": len(entries), "not_assessed": len(not_assessed)}
    return [section], described
