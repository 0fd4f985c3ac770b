"""Terraform's JSON plan and state (`terraform show -json`) -> one raw `Section`.

Recognised by content, never by file name: a JSON object with `format_version` and any of
`terraform_version`, `planned_values`, `resource_changes`, `values`, `prior_state` or
`configuration` (anywhere in the object: a plan saved with sorted keys, `jq -S`, has
`format_version` far into the file). Every format Terraform and OpenTofu have written is
read: "0.1" (Terraform 0.12-0.14), "0.2" (0.15-1.0.x), "1.x" (1.1 and later, OpenTofu); a
newer one is refused, exit 2 (Terraform's promise: a new major means an incompatible
change). Encodings: UTF-8 with or without a BOM, UTF-16 LE/BE with a BOM (PowerShell's `>`).

The section (provider `terraform`, account = the file's stem, e.g. `plan` for plan.json)
has three collections, all in region `global`:

- `resources`: one object per managed resource instance the plan leaves in place, with
  `address`, `module_address`, `type`, `name`, `index`, `provider_name`,
  `provider_config_key`, `provider_alias`, `region` (AWS: from the provider configuration,
  aliases included), `values` (planned values, sensitive ones redacted), `after_unknown`,
  `actions` (from `resource_changes`; [] for a state file), `expressions` (the resource
  block's configuration, for references), `sec01` for the types SEC-01 reads (what
  providers.terraform.secrets found in them before redaction: names, never values) and,
  with `--tf-dir`, `file` and `line`; also the `aws_iam_policy_document` data sources the
  plan reads only at apply (`mode` "data", DATA_READ: their known statements can already
  decide IAM-02);
- `not_assessed`: `{id, type, reason}` for every instance the plan deletes or forgets and
  every instance of a resource type posture has no mapping for (the engine lists each
  group as a `skip` finding, evidence level `none`);
- `plan`: one object describing the document (`kind`, `format_version`,
  `terraform_version`, `changed_only`).

So a plan goes through the engine's usual path (normalize, fail closed, record).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from scanner import snapshot
from scanner.errors import PostureError
from scanner.model import ErrorReason
from scanner.redact import REDACTED, redact
from scanner.snapshot import GLOBAL, Section

SUPPORTED_MAJOR = 1
# (major, minor) of the formats written before 1.0: 0.1 by Terraform 0.12-0.14 (no
# `after_sensitive` before 0.14, no `sensitive_values` before 0.15), 0.2 by 0.15-1.0.x.
LEGACY_FORMATS = frozenset({(0, 1), (0, 2)})
SNIFF_BYTES = 64 * 1024
# Keys only Terraform's JSON holds; any of them in the head is enough, wherever it stands
# (sorted keys put `applyable`, `checks` and `configuration`, with its `provider_config` and
# `root_module`, before `format_version`).
_KEY = re.compile(r'"(format_version|terraform_version|planned_values|resource_changes|'
                  r'prior_state|provider_config|root_module|after_unknown|applyable|'
                  r'resource_drift|relevant_attributes|output_changes)"\s*:')
# hashicorp/setup-terraform's wrapper (`terraform_wrapper`, on by default) prints this line
# before the command's output and GitHub Actions `::debug::`/`::set-output` lines after it
# (hashicorp/setup-terraform issue 20; until its #367 fix, setup-terraform v3)
_WRAPPER = "[command]"
_SNAPSHOT = re.compile(r'"format"\s*:\s*"posture-snapshot"')
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_TF_KEYS = ("terraform_version", "planned_values", "resource_changes", "values",
            "prior_state", "configuration")
_REF = re.compile(r"^(?P<base>[a-z][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_-]*)"
                  r"(?P<index>\[[^\]]*\])?")
_NOT_RESOURCE = ("var.", "local.", "data.", "module.", "each.", "count.", "path.", "self.",
                 "terraform.")
_MODULE_KEY = re.compile(r"\[[^\]]*\]")
# Data sources read into `resources` (with "mode": "data"): those a plan lists in its
# planned values are the ones Terraform reads only at apply ("read_because_config_unknown",
# internal/plans/objchange; one read at plan time is in `prior_state` and its result is
# already in the planned values that reference it). What their configuration already says
# can decide a verdict: an aws_iam_policy_document whose known statement is `*` on `*`.
DATA_READ = frozenset({"aws_iam_policy_document"})


class PlanError(PostureError):
    """A file that looks like Terraform JSON but cannot be read as a plan or state."""


def encoding(data: bytes) -> tuple[str, int]:
    """(codec, BOM length) of JSON text: UTF-8 unless a BOM says UTF-8 or UTF-16 LE/BE."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec, len(bom)
    return "utf-8", 0


def decode(data: bytes) -> str:
    """JSON text in any encoding Terraform's output is saved in (UnicodeDecodeError else)."""
    codec, skip = encoding(data)
    return data[skip:].decode(codec)


def sniff(path: Path) -> bool:
    """Does the file look like Terraform JSON (its first 64 KiB, plain or gzip, in any
    encoding `decode` reads)?"""
    try:
        with path.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
        if head[:2] == b"\x1f\x8b":
            with gzip.open(path, "rb") as gz:
                head = gz.read(SNIFF_BYTES)
    except (OSError, EOFError, zlib.error):
        return False  # snapshot.load names the problem
    codec, skip = encoding(head)
    body = head[skip:]
    if codec.startswith("utf-16"):
        body = body[:len(body) - len(body) % 2]
    text = body.decode(codec, errors="replace")
    if text.lstrip().startswith(_WRAPPER):
        return bool(_KEY.search(text))  # load_document names the problem
    if not text.lstrip().startswith("{") or _SNAPSHOT.search(text):
        return False
    return bool(_KEY.search(text))


def account_name(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".json", ".plan", ".tfplan"):
        name = name.removesuffix(suffix)
    return name or "plan"


def load_document(path: Path) -> tuple[dict[str, Any], bytes]:
    origin = str(path)
    data = snapshot.read_bytes(path)
    try:
        text = decode(data)
        if text.lstrip().startswith(_WRAPPER):
            raise PlanError(
                f"{origin}: not a plan but the log of hashicorp/setup-terraform's wrapper "
                "(a `[command]` line, then the JSON, then `::debug::` lines): set "
                "`terraform_wrapper: false` on the setup-terraform step, or run "
                "`terraform-bin show -json`, and give posture that output")
        doc = json.loads(text)
    except UnicodeDecodeError as exc:
        raise PlanError(f"{origin}: not UTF-8 text (nor UTF-16 with a BOM; {exc.reason} at byte "
                        f"{exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise PlanError(f"{origin}: not valid JSON, truncated? ({exc.msg} at line {exc.lineno} "
                        f"column {exc.colno})") from exc
    except RecursionError as exc:
        raise PlanError(f"{origin}: JSON nested too deeply") from exc
    except ValueError as exc:  # an integer of more than 4300 digits
        raise PlanError(f"{origin}: not valid JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise PlanError(f"{origin}: not a Terraform plan or state (top level is not an object)")
    check_document(doc, origin)
    return doc, data


def check_document(doc: Mapping[str, Any], origin: str) -> None:
    version = doc.get("format_version")
    if version is None:
        hint = (" (it looks like `terraform version -json` output)"
                if "provider_selections" in doc or "platform" in doc else "")
        if "plan_format_version" in doc:
            # HCP Terraform's redacted JSON plan (the run's `json-output-redacted`: changes
            # without planned values, configuration or sensitive values)
            hint = (" (it is HCP Terraform's redacted plan, plan_format_version "
                    f"{doc['plan_format_version']!r}: download the run's unredacted JSON "
                    "plan, or `terraform show -json` the saved plan)")
        if "lineage" in doc and "resources" in doc:
            hint = (" (it is a state file: to compare it with the live estate give it with "
                    "--iac; to judge it, `terraform show -json` it)")
        raise PlanError(f"{origin}: not a Terraform plan or state: no format_version{hint}; "
                        "give posture the output of `terraform show -json PLANFILE`")
    parsed = format_of(version)
    if parsed is None or (parsed[0] != SUPPORTED_MAJOR and parsed not in LEGACY_FORMATS):
        newer = parsed is not None and parsed[0] > SUPPORTED_MAJOR
        raise PlanError(
            f"{origin}: Terraform JSON format_version {version!r} is not supported"
            + (", newer than this posture knows (upgrade posture)" if newer else "")
            + f" (posture reads formats 0.1, 0.2 and {SUPPORTED_MAJOR}.x, as written by "
            "Terraform 0.12 and later and OpenTofu)")
    if not any(k in doc for k in _TF_KEYS):
        hint = ""
        if set(doc) <= {"format_version", "terraform_version"}:
            # `terraform show -json` where there is no state writes only its format version
            # (internal/command/testdata/show-json-state/empty, no-state)
            raise PlanError(f"{origin}: an empty Terraform state (no resources, no plan): "
                            "nothing to judge; give posture the output of "
                            "`terraform show -json PLANFILE`")
        if "provider_schemas" in doc:
            hint = " (it looks like `terraform providers schema -json` output)"
        elif "valid" in doc and "diagnostics" in doc:
            hint = " (it looks like `terraform validate -json` output)"
        raise PlanError(f"{origin}: not a Terraform plan or state{hint}; give posture the "
                        "output of `terraform show -json PLANFILE`")
    for key in ("planned_values", "values", "configuration", "prior_state"):
        if key in doc and not isinstance(doc[key], Mapping | type(None)):
            raise PlanError(f"{origin}: not a Terraform plan or state ({key} is not an object)")
    if "resource_changes" in doc and not isinstance(doc["resource_changes"], list | type(None)):
        raise PlanError(f"{origin}: not a Terraform plan (resource_changes is not a list)")


def format_of(version: Any) -> tuple[int, int] | None:
    """"1.2" -> (1, 2); None for anything that is not a MAJOR.MINOR version string."""
    if not isinstance(version, str):
        return None
    m = re.fullmatch(r"(\d{1,6})\.(\d{1,6})", version)
    return (int(m.group(1)), int(m.group(2))) if m else None


# --- walking the document ------------------------------------------------------------------


def _module_resources(module: Mapping[str, Any] | None) -> Iterator[dict[str, Any]]:
    if not isinstance(module, Mapping):
        return
    for r in module.get("resources") or []:
        if isinstance(r, dict):
            yield {**r, "module_address": module.get("address") or ""}
    for child in module.get("child_modules") or []:
        yield from _module_resources(child)


def config_path(module_address: str) -> str:
    """`module.net["prod"].module.sg[0]` -> `module.net.module.sg` (the configuration's
    module path: instance keys dropped)."""
    return _MODULE_KEY.sub("", module_address)


def _config_index(configuration: Mapping[str, Any] | None
                  ) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[str, str]]:
    """(module path, "type.name") -> configuration resource; module path -> module source."""
    resources: dict[tuple[str, str], dict[str, Any]] = {}
    sources: dict[str, str] = {"": "."}

    def walk(module: Any, path: str) -> None:
        if not isinstance(module, Mapping):
            return
        for r in module.get("resources") or []:
            if isinstance(r, dict) and r.get("mode", "managed") == "managed":
                resources[(path, f"{r.get('type')}.{r.get('name')}")] = r
        for name, call in (module.get("module_calls") or {}).items():
            if isinstance(call, Mapping):
                child = f"{path}.module.{name}" if path else f"module.{name}"
                sources[child] = str(call.get("source") or "")
                walk(call.get("module"), child)

    if isinstance(configuration, Mapping):
        walk(configuration.get("root_module"), "")
    return resources, sources


def _expression_value(expr: Any, variables: Mapping[str, Any]) -> Any:
    """A provider configuration expression's value: a constant, or a root variable."""
    if not isinstance(expr, Mapping):
        return None
    if "constant_value" in expr:
        return expr["constant_value"]
    refs = [str(r) for r in expr.get("references") or []]
    for ref in refs:
        if ref.startswith("var."):
            var = variables.get(ref[4:].split(".")[0])
            if isinstance(var, Mapping) and var.get("value") is not None:
                return var["value"]
    return None


def _provider_region(doc: Mapping[str, Any], key: str, module_path: str = ""
                     ) -> tuple[str | None, str | None, str]:
    """(region, alias, version constraint) of a provider configuration key (`aws`,
    `aws.eu`, `module.net:aws`) used by a resource of the module at `module_path`."""
    configs = ((doc.get("configuration") or {}).get("provider_config") or {})
    variables = doc.get("variables") or {}
    pc = configs.get(key)
    if not isinstance(pc, Mapping) and ":" in key:
        prefix, name = key.rsplit(":", 1)
        if module_path and not prefix.startswith("module."):
            return _legacy_provider_region(configs, variables, module_path, name)
        pc = configs.get(name)  # passed from the root
    if not isinstance(pc, Mapping):
        return None, None, ""
    return _provider_config_region(pc, variables)


def _provider_config_region(pc: Mapping[str, Any], variables: Mapping[str, Any]
                            ) -> tuple[str | None, str | None, str]:
    root = not pc.get("module_address")
    region = _expression_value((pc.get("expressions") or {}).get("region"),
                               variables if root else {})
    return (str(region) if isinstance(region, str) and region else None,
            str(pc["alias"]) if pc.get("alias") else None,
            str(pc.get("version_constraint") or ""))


def _legacy_provider_region(configs: Mapping[str, Any], variables: Mapping[str, Any],
                            module_path: str, name: str) -> tuple[str | None, str | None, str]:
    """The provider configuration a resource of a module uses, in a plan Terraform 0.12 to
    1.1 wrote: there a resource's `provider_config_key` names only the module call's last
    name (`db:aws` for `module.app.module.db`), while `provider_config` is keyed by the
    module's full path (`module.app.module.db:aws`); Terraform 1.2 keys both by the full
    path and points an inheriting module's resources at the configuration they use
    (internal/command/jsonconfig/config.go: `marshalModule(c, schemas, mc.Name)` before,
    `c.Path.String()` and `normalizeModuleProviderKeys` since). A module without its own
    `provider` block inherits its parent's default configuration, unless the call passes it
    another (`providers = {...}`, not written in these formats): wherever the parent holds an
    aliased configuration of the provider that the call might pass, the region is not known
    (None: RES-01 says error), never the parent's default."""
    local, _, alias = name.partition(".")
    # the modules holding an aliased configuration of the provider, found once (per level
    # of a module 4,000 deep, over 4,000 configurations: 1.4 s for each of its resources)
    aliased_in = {k.rsplit(":", 1)[0] if ":" in k else "" for k in configs
                  if k.rsplit(":", 1)[-1].startswith(local + ".")}
    path = module_path
    while True:
        pc = configs.get(f"{path}:{name}" if path else name)
        if isinstance(pc, Mapping) and (pc.get("expressions") or not path):
            return _provider_config_region(pc, variables)
        if alias or not path:
            # an aliased configuration a module does not define itself is passed to it
            # (which one is not written); the root without a block: the environment's
            return None, alias or None, ""
        parent = path.rsplit(".module.", 1)[0] if ".module." in path else ""
        if parent in aliased_in:
            return None, None, ""
        path = parent


def mark_at(node: Any, path: tuple[Any, ...]) -> Any:
    """The node of an `after_unknown` / `after_sensitive` tree at `path`: True where a whole
    value on the way is marked, None where the path leaves what the tree describes."""
    for p in path:
        if node is True:
            return True
        if isinstance(node, Mapping):
            node = node.get(p)
        elif isinstance(node, list) and isinstance(p, int) and 0 <= p < len(node):
            node = node[p]
        else:
            return None
    return node


def any_true(node: Any) -> bool:
    """Is anything in an `after_unknown` / `after_sensitive` tree marked?"""
    if node is True:
        return True
    if isinstance(node, Mapping):
        return any(any_true(v) for v in node.values())
    if isinstance(node, list):
        return any(any_true(v) for v in node)
    return False


def redact_sensitive(values: Any, sensitive: Any, path: str, removed: list[str]) -> Any:
    """Replace every value Terraform marks sensitive (`after_sensitive`) by the marker."""
    if sensitive is True:
        if values is not None:
            removed.append(path)
            return REDACTED
        return values
    if isinstance(values, dict) and isinstance(sensitive, Mapping):
        return {k: redact_sensitive(v, sensitive.get(k), f"{path}.{k}", removed)
                for k, v in values.items()}
    if isinstance(values, list) and isinstance(sensitive, list):
        return [redact_sensitive(v, sensitive[i] if i < len(sensitive) else None,
                                 f"{path}[{i}]", removed) for i, v in enumerate(values)]
    return values


def resource_refs(expression: Any) -> list[str]:
    """Resource addresses (relative to the module, index kept) an expression references."""
    out: list[str] = []
    if not isinstance(expression, Mapping):
        return out
    previous = ""
    for ref in expression.get("references") or []:
        ref = str(ref)
        if ref.startswith(_NOT_RESOURCE):
            previous = ref
            continue
        m = _REF.match(ref)
        if m:
            # Terraform follows a reference to one instance (`aws_security_group.web["a"]`)
            # with its resource without the key (`aws_security_group.web`): "Include the
            # resource, without the key" (internal/command/jsonconfig/expression.go,
            # Terraform 1.x). That echo names no other instance: a bare reference that
            # comes right after its keyed form is not one to every instance (a splat or a
            # bare use elsewhere in the expression still is).
            keyed = _REF.match(previous)
            if not m.group("index") and keyed and keyed.group("index") and \
                    keyed.group("base") == m.group("base") and \
                    previous == keyed.group("base") + keyed.group("index"):
                previous = ref
                continue
            addr = m.group("base") + (m.group("index") or "")
            if addr not in out:
                out.append(addr)
        previous = ref
    return out


def read(path: Path, options: Mapping[str, Any], mapped: frozenset[str],
         covered_providers: frozenset[str]) -> tuple[list[Section], dict[str, Any]]:
    """A Terraform JSON plan or state file -> one section and its source description."""
    doc, data = load_document(path)
    try:
        return _read(path, doc, data, options, mapped, covered_providers)
    except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
        raise PlanError(f"{path}: not shaped as Terraform writes a plan or state "
                        f"({type(exc).__name__}: {exc})") from exc
    except RecursionError:  # a value nested deeper than redaction (scanner.redact) walks:
        # no plan Terraform writes holds one; refused, never recorded or judged unredacted
        raise PlanError(f"{path}: a value is nested too deeply to redact (hundreds of "
                        "levels), not a plan Terraform writes") from None


def _read(path: Path, doc: dict[str, Any], data: bytes, options: Mapping[str, Any],
          mapped: frozenset[str], covered_providers: frozenset[str]
          ) -> tuple[list[Section], dict[str, Any]]:
    from providers.terraform import secrets
    from providers.terraform.locate import block_locations

    origin = str(path)
    is_plan = "planned_values" in doc or "resource_changes" in doc
    if doc.get("errored") is True:
        raise PlanError(f"{origin}: the plan errored (errored=true): Terraform could not plan "
                        "every change; fix the plan, then judge it")
    if is_plan:
        root = (doc.get("planned_values") or {}).get("root_module")
    else:
        root = (doc.get("values") or {}).get("root_module")
    changes: dict[str, Mapping[str, Any]] = {}
    deposed: list[Mapping[str, Any]] = []
    for rc in doc.get("resource_changes") or []:
        if isinstance(rc, Mapping) and rc.get("mode") == "data" and \
                rc.get("type") in DATA_READ and rc.get("address"):
            changes[str(rc["address"])] = rc
        if isinstance(rc, Mapping) and rc.get("mode", "managed") == "managed" and rc.get(
                "address"):
            if rc.get("deposed"):
                # A deposed object (left by a create_before_destroy replacement that failed
                # half-way) shares its address with the current instance, and Terraform
                # writes it right after that instance's change (jsonplan sorts by address,
                # then deposed key, "" first). It is never in planned_values: its change (a
                # delete, `after_unknown` {}) must not stand for the current instance's, or
                # that instance's unknowns would read as known. Format:
                # https://developer.hashicorp.com/terraform/internals/json-format
                # ("deposed": "the deposed key ... identifies a deposed object").
                deposed.append(rc)
                continue
            changes[str(rc["address"])] = rc
    config, sources = _config_index(doc.get("configuration"))
    tf_dir = options.get("tf_dir")
    locations = block_locations(Path(tf_dir), sources) if tf_dir else {}
    section = Section(provider="terraform", account=account_name(path),
                      collected_at=_timestamp(doc))
    entries: list[dict[str, Any]] = []
    not_assessed: list[dict[str, Any]] = []
    regions: set[str] = set()
    seen: set[str] = set()
    provider_cache: dict[str, tuple[str | None, str | None, str]] = {}
    for res in [*_module_resources(root), *_unplanned(changes, root)]:
        if res.get("mode", "managed") != "managed" and not (
                res.get("mode") == "data" and res.get("type") in DATA_READ):
            continue
        if res.get("deposed_key"):
            # a state's deposed object (`deposed_key`, same address as the current
            # instance): destroyed on the next apply, never the instance itself
            deposed.append({"address": res.get("address"), "type": res.get("type"),
                            "deposed": res["deposed_key"]})
            continue
        address = str(res.get("address"))
        seen.add(address)
        rtype = str(res.get("type"))
        module_address = str(res.get("module_address") or "")
        change = changes.get(address, {}).get("change") or {}
        actions = [str(a) for a in change.get("actions") or []] if is_plan else []
        if is_plan and address not in changes:
            actions = ["no-op"]
        provider_name = str(res.get("provider_name") or "")
        if rtype not in mapped:
            short = provider_name.rsplit("/", 1)[-1]
            if short in covered_providers:
                why, text = "type_not_covered", "posture has no mapping for this resource type"
            else:
                why, text = "provider_not_covered", f"posture does not cover provider {short}"
            not_assessed.append({"id": address, "type": rtype, "reason": why, "message": text})
            continue
        cfg = config.get((config_path(module_address), f"{rtype}.{res.get('name')}"), {})
        key = str(cfg.get("provider_config_key") or provider_name.rsplit("/", 1)[-1])
        cache_key = f"{config_path(module_address)}|{key}"
        if cache_key not in provider_cache:
            provider_cache[cache_key] = _provider_region(doc, key, config_path(module_address))
        region, alias, constraint = provider_cache[cache_key]
        removed: list[str] = []
        after_unknown = True if res.get("unknown_values") else (
            change.get("after_unknown") or {})
        sensitive = change.get("after_sensitive", res.get("sensitive_values"))
        # SEC-01: the attributes a live scan reads, scanned before anything is redacted
        # (names of what was found are kept, never a value: providers.terraform.secrets)
        found = secrets.scan(rtype, res.get("values") or {}, after_unknown, sensitive,
                             cfg.get("expressions") or {})
        raw_values, raw_expressions = secrets.scrub(rtype, res.get("values") or {},
                                                    cfg.get("expressions") or {}, address,
                                                    section.redacted)
        values = redact_sensitive(raw_values, sensitive, address, removed)
        values = redact(values, address, removed, label_keys=("tags", "tags_all", "labels"))
        section.redacted.extend(removed)
        entry: dict[str, Any] = {
            **({"mode": "data"} if res.get("mode") == "data" else {}),
            "address": address,
            "module_address": module_address,
            "type": rtype,
            "name": res.get("name"),
            "index": res.get("index"),
            "provider_name": provider_name,
            "provider_config_key": key,
            "provider_alias": alias,
            "provider_version_constraint": constraint,
            "region": region,
            "values": values,
            "after_unknown": after_unknown,
            "actions": actions,
            # the configuration's constants are raw data too (a db_password, a user_data):
            # redacted like the values (scanner.redact; references stay)
            "expressions": redact(raw_expressions, f"{address}.expressions",
                                  section.redacted),
        }
        if found is not None:
            entry["sec01"] = found
        where = locations.get((config_path(module_address), f"{rtype}.{res.get('name')}"))
        if where:
            entry["file"], entry["line"] = where
        if region:
            regions.add(region)
        entries.append(entry)
    for address, rc in changes.items():
        actions = [str(a) for a in (rc.get("change") or {}).get("actions") or []]
        if address in seen or ("delete" not in actions and "forget" not in actions):
            continue
        gone = "forget" in actions and "delete" not in actions
        not_assessed.append({"id": address, "type": str(rc.get("type")),
                             "reason": "forgotten" if gone else "deleted",
                             "message": "the plan removes it from the state (not judged)"
                             if gone else "the plan deletes it (not judged)"})
    for deferred in doc.get("deferred_changes") or []:
        # Terraform 1.8+ with -allow-deferral: changes it cannot plan yet (an unknown count,
        # provider configuration...) are neither in planned_values nor in resource_changes
        # but here, `{"reason": ..., "resource_change": {...}}` (internal/command/jsonplan/
        # resource.go, DeferredResourceChange); the plan is incomplete (complete=false) and
        # each of them is named, never dropped
        rc = deferred.get("resource_change") if isinstance(deferred, Mapping) else None
        if not isinstance(rc, Mapping) or rc.get("mode", "managed") != "managed" or \
                not rc.get("address") or str(rc["address"]) in seen:
            continue
        seen.add(str(rc["address"]))
        not_assessed.append({"id": str(rc["address"]), "type": str(rc.get("type")),
                             "reason": "deferred",
                             "message": "the plan defers it to a later plan "
                             f"({deferred.get('reason') or 'no reason given'}): not judged"})
    for rc in deposed:
        not_assessed.append({"id": f"{rc.get('address')} (deposed {rc.get('deposed')})",
                             "type": str(rc.get("type")), "reason": "deleted",
                             "message": "the plan deletes it (not judged)"})
    section.add("resources", GLOBAL, entries)
    section.add("not_assessed", GLOBAL, sorted(not_assessed, key=lambda o: o["id"]))
    section.add("plan", GLOBAL, [{
        "kind": "plan" if is_plan else "state",
        "format_version": str(doc.get("format_version")),
        "terraform_version": str(doc.get("terraform_version") or ""),
        "changed_only": bool(options.get("changed_only")),
    }])
    section.locations = sorted(regions)
    if is_plan and doc.get("complete") is False:
        section.fail("resources", GLOBAL, ErrorReason.INVALID,
                     "the plan is incomplete (complete=false: -target, or changes deferred "
                     "until apply): resources outside it are not judged")
    described = {
        "type": "terraform-plan" if is_plan else "terraform-state",
        "name": path.name,
        "digest": hashlib.sha256(data).hexdigest(),
        "accounts": [f"terraform:{section.account}"],
        "terraform_version": str(doc.get("terraform_version") or ""),
        "format_version": str(doc.get("format_version")),
        "resources": len(entries),
        "not_assessed": len(not_assessed),
    }
    if options.get("changed_only"):
        described["changed_only"] = True
    return [section], described


def _unplanned(changes: Mapping[str, Mapping[str, Any]], root: Any
               ) -> Iterator[dict[str, Any]]:
    """The instances a plan changes or keeps (`resource_changes`) that its `planned_values`
    do not hold (a plan cut down by hand or by a filter): read from the change's `after`,
    the same planned values, so that nothing vanishes (an `after` that is not an object
    reads as wholly unknown: every attribute error, never pass)."""
    planned = {str(r.get("address")) for r in _module_resources(root)}
    for address, rc in changes.items():
        change = rc.get("change") or {}
        actions = [str(a) for a in change.get("actions") or []]
        if address in planned or not actions or set(actions) <= {"delete", "forget"}:
            continue
        after = change.get("after")
        known = isinstance(after, Mapping)
        values: dict[str, Any] = dict(after) if isinstance(after, Mapping) else {}
        yield {"address": address, "mode": rc.get("mode", "managed"), "type": rc.get("type"),
               "name": rc.get("name"), "index": rc.get("index"),
               "provider_name": rc.get("provider_name"),
               "module_address": str(rc.get("module_address") or ""),
               "values": values,
               **({} if known else {"unknown_values": True})}


def _timestamp(doc: Mapping[str, Any]) -> str:
    stamp = doc.get("timestamp")
    if isinstance(stamp, str) and re.match(
            r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", stamp):
        return stamp
    return snapshot.now()
