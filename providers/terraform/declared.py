"""Infrastructure-as-code given with `--iac FILE`: what a Terraform state or plan declares,
for INV-01 to compare with the live estate (drift both ways). See docs/terraform.md.

Read, recognised by content:
- a state file as Terraform and OpenTofu write it (`terraform.tfstate`, state format
  `version` 4: Terraform 0.12 and later);
- `terraform show -json` of a state (`values`) or of a plan (`planned_values`,
  `resource_changes`, `prior_state`), format_version 0.1, 0.2 or 1.x.

Each file becomes one raw section of provider `iac` (account: the path as given), so it is
recorded into a snapshot with `--record` and replayed to the same findings:

- `declared` (region `global`): one object per managed resource instance: `address`,
  `type`, `provider_name`, `actions` (a plan's; [] for a state) and `values`, only the
  attributes that identify the instance (ids, ARNs, names, locations; never secrets, and
  nothing at all of types posture does not map to the model);
- `source` (region `global`): one object describing the file (`format`, `name`, `digest`,
  `terraform_version`, a state's `serial` and `lineage`).

A plan declares what its prior state holds (with the ids Terraform manages now, also for
instances it replaces or deletes) and what it creates (no id yet: not live). Data sources
are not declarations. The section's `collected_at` is the newest of the estate's sections
it is read with, so it never moves the time checks judge as of.

`normalize` maps each object to a `scanner.model.Declaration`: the live resource's kind and
`Resource.native_id` (the AWS ARN, the lower-cased Azure resource id, Hetzner `type/id`),
account and region where the file tells them. Everything cloud-specific is here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from providers.terraform.plan import PlanError, any_true, check_document, decode
from scanner import snapshot
from scanner.errors import PostureError
from scanner.model import Declaration, Inventory, Kind
from scanner.provider import Collection, Provider, ProviderError
from scanner.redact import redact
from scanner.snapshot import GLOBAL, Section

NAME = "iac"
STATE_VERSION = 4
DECLARED = "declared"
SOURCE = "source"


class IacError(PostureError):
    """An --iac file that cannot be read as a Terraform state or plan: exit 2."""


# --- reading the file ----------------------------------------------------------------------

# Attributes kept per instance of a mapped type: what identifies it, nothing else.
_KEEP = frozenset({
    "id", "arn", "name", "location", "home_location", "datacenter", "region",
    "availability_zone", "network_border_group", "allocation_id", "network_id", "ip_range",
    "load_balancer_id", "listen_port", "target_resource_id", "bucket",
    "resource_versionless_id",
})
_NESTED: Mapping[str, tuple[str, ...]] = {
    "subnet": ("id", "name"),  # azurerm_virtual_network's inline subnets
    "root_block_device": ("volume_id",),  # aws_instance's volumes
    "ebs_block_device": ("volume_id", "device_name"),
    "os_disk": ("name",),  # azurerm_*_virtual_machine
}
_SCALAR = (str, int, float, bool)


def source_name(path: Path) -> str:
    """The name an --iac file goes by (section account, finding ids): the path as given."""
    return path.as_posix().removeprefix("./") or path.name


def read(path: Path, collected_at: str | None = None) -> tuple[list[Section], dict[str, Any]]:
    """An --iac file -> one `iac` section and its source description; every problem is one
    IacError naming the file."""
    origin = str(path)
    if path.is_dir():
        raise IacError(f"--iac {origin}: is a directory; give a state file (terraform.tfstate) "
                       "or `terraform show -json` output")
    try:
        data = snapshot.read_bytes(path, what="Terraform state or plan")
    except PostureError as exc:
        raise IacError(f"--iac {exc}") from None
    try:
        doc = json.loads(decode(data))
    except UnicodeDecodeError as exc:
        raise IacError(f"--iac {origin}: not UTF-8 text (nor UTF-16 with a BOM; "
                       f"{exc.reason} at byte {exc.start}), not a Terraform state or plan"
                       ) from None
    except json.JSONDecodeError as exc:
        raise IacError(f"--iac {origin}: not valid JSON, truncated? ({exc.msg} at line "
                       f"{exc.lineno} column {exc.colno})") from None
    except (RecursionError, ValueError) as exc:
        raise IacError(f"--iac {origin}: not valid JSON ({type(exc).__name__})") from None
    try:
        fmt, objects, about = _objects(doc, origin)
    except PostureError as exc:
        raise IacError(f"--iac {exc}") from None
    except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
        raise IacError(f"--iac {origin}: not shaped as Terraform writes a state or plan "
                       f"({type(exc).__name__}: {exc})") from None
    name = source_name(path)
    section = Section(provider=NAME, account=name, collected_at=collected_at or snapshot.now())
    removed: list[str] = []
    kept = [redact(o, o["address"], removed) for o in objects]
    section.redacted.extend(removed)
    section.add(DECLARED, GLOBAL, kept)
    digest = hashlib.sha256(data).hexdigest()
    section.add(SOURCE, GLOBAL, [{"format": fmt, "name": path.name, "digest": digest, **about}])
    described = {"type": "iac", "name": path.name, "digest": digest, "format": fmt,
                  "accounts": [f"{NAME}:{name}"], "declared": len(kept)}
    return [section], described


def _objects(doc: Any, origin: str) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """(format, declared objects, what else describes the file) of a parsed document."""
    if not isinstance(doc, dict):
        raise IacError(f"{origin}: not a Terraform state or plan (the top level is not a JSON "
                       "object)")
    if doc.get("format") == "posture-snapshot":
        raise IacError(f"{origin}: a posture snapshot, not infrastructure-as-code; give it as a "
                       "SOURCE (`posture scan SNAPSHOT --iac terraform.tfstate`)")
    if "encrypted_data" in doc:
        raise IacError(f"{origin}: an encrypted state (OpenTofu state encryption); give the "
                       "decrypted `tofu show -json` output")
    if "format_version" in doc:
        return _show_json(doc, origin)
    if "version" in doc and any(k in doc for k in ("resources", "lineage", "serial")):
        return _state_file(doc, origin)
    raise IacError(f"{origin}: not a Terraform state or plan (neither the `version` of a "
                   "terraform.tfstate nor the `format_version` of `terraform show -json`)")


def _state_file(doc: Mapping[str, Any], origin: str
                ) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    version = doc.get("version")
    if version != STATE_VERSION or isinstance(version, bool):
        raise IacError(f"{origin}: Terraform state version {version!r} is not supported "
                       f"(posture reads version {STATE_VERSION}, written by Terraform 0.12 and "
                       "later and OpenTofu)")
    resources = doc.get("resources") or []
    if not isinstance(resources, list):
        raise IacError(f"{origin}: not a Terraform state (resources is not a list)")
    out: list[dict[str, Any]] = []
    for i, res in enumerate(resources):
        where = f"resources[{i}]"
        if not isinstance(res, Mapping):
            raise IacError(f"{origin}: not a Terraform state ({where} is not an object)")
        if res.get("mode", "managed") != "managed":
            continue
        rtype, rname = res.get("type"), res.get("name")
        if not isinstance(rtype, str) or not isinstance(rname, str) or not rtype or not rname:
            raise IacError(f"{origin}: not a Terraform state ({where} has no type and name)")
        instances = res.get("instances") or []
        if not isinstance(instances, list):
            raise IacError(f"{origin}: not a Terraform state ({where}.instances is not a list)")
        module = str(res.get("module") or "")
        base = f"{module}.{rtype}.{rname}" if module else f"{rtype}.{rname}"
        provider = _provider_source(str(res.get("provider") or ""))
        for j, inst in enumerate(instances):
            if not isinstance(inst, Mapping):
                raise IacError(f"{origin}: not a Terraform state ({where}.instances[{j}] is "
                               "not an object)")
            if inst.get("deposed"):
                continue  # an old instance awaiting destruction (create_before_destroy)
            attrs = inst.get("attributes")
            if attrs is None and "attributes_flat" in inst:
                raise IacError(f"{origin}: {where}.instances[{j}] holds flat attributes "
                               "(state written by Terraform 0.11); `terraform show -json` it")
            if not isinstance(attrs, Mapping):
                raise IacError(f"{origin}: not a Terraform state ({where}.instances[{j}]."
                               "attributes is not an object)")
            sensitive = {_path_head(p) for p in inst.get("sensitive_attributes") or []}
            out.append(_object(base + _index(inst.get("index_key")), rtype, provider, attrs,
                               sensitive, []))
    about = {"terraform_version": str(doc.get("terraform_version") or ""),
             "serial": doc.get("serial"), "lineage": str(doc.get("lineage") or "")}
    return "terraform-state", out, about


def _show_json(doc: dict[str, Any], origin: str
               ) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    about = {"terraform_version": str(doc.get("terraform_version") or "")}
    if set(doc) <= {"format_version", "terraform_version"}:  # `show -json` of an empty state
        check_document({**doc, "values": None}, origin)  # names an unsupported version
        return "terraform-show-state", [], about
    try:
        check_document(doc, origin)
    except PlanError as exc:
        raise IacError(str(exc).replace("give posture the output of `terraform show -json "
                                        "PLANFILE`", "give --iac a terraform.tfstate or "
                                        "`terraform show -json` output")) from None
    if doc.get("errored") is True:
        raise IacError(f"{origin}: the plan errored (errored=true): Terraform could not plan "
                       "every change; fix it, or give the state instead")
    if "planned_values" not in doc and "resource_changes" not in doc:
        values = doc.get("values") or {}
        out = [_object(str(r["address"]), str(r["type"]), str(r.get("provider_name") or ""),
                       r.get("values") or {}, _sensitive_keys(r.get("sensitive_values")), [])
               for r in _module_resources((values or {}).get("root_module"))
               if not r.get("deposed_key")]
        return "terraform-show-state", out, about
    # A plan: what its prior state holds (ids Terraform manages now), then what it creates.
    # Deposed objects (`deposed` in resource_changes, `deposed_key` in prior_state) share the
    # current instance's address and are written after it (jsonplan/jsonstate sort by
    # address, then deposed key): as in a state file, they are not declarations, and they
    # must not replace the current instance's id or actions.
    changes: dict[str, Mapping[str, Any]] = {}
    for rc in doc.get("resource_changes") or []:
        if isinstance(rc, Mapping) and rc.get("mode", "managed") == "managed" and rc.get(
                "address") and rc.get("type") and not rc.get("deposed"):
            changes[str(rc["address"])] = rc
    prior = {str(r["address"]): r for r in _module_resources(
        ((doc.get("prior_state") or {}).get("values") or {}).get("root_module"))
        if not r.get("deposed_key")}
    planned = {str(r["address"]): r for r in _module_resources(
        (doc.get("planned_values") or {}).get("root_module")) if not r.get("deposed_key")}
    out = []
    for address in sorted(set(prior) | set(planned) | set(changes)):
        rc = changes.get(address, {})
        change = rc.get("change") or {}
        actions = [str(a) for a in change.get("actions") or []] or ["no-op"]
        about_it = prior.get(address) or planned.get(address) or rc
        rtype = str(about_it.get("type"))
        provider = str(about_it.get("provider_name") or rc.get("provider_name") or "")
        if address in prior:
            r = prior[address]
            values, sensitive = r.get("values") or {}, r.get("sensitive_values")
        elif isinstance(change.get("before"), Mapping):  # a plan without prior_state
            values, sensitive = change["before"], change.get("before_sensitive")
        elif address in planned:  # created by the plan: no id yet
            r = planned[address]
            values, sensitive = r.get("values") or {}, r.get("sensitive_values")
            if "create" in actions:
                values = {k: v for k, v in values.items() if k not in ("id", "arn")}
        else:
            continue  # a change with neither a before nor an after (nothing to declare)
        out.append(_object(address, rtype, provider, values, _sensitive_keys(sensitive),
                           actions))
    return "terraform-plan", out, about


def _module_resources(module: Any) -> Iterator[Mapping[str, Any]]:
    if not isinstance(module, Mapping):
        return
    for r in module.get("resources") or []:
        if not isinstance(r, Mapping):
            raise TypeError("a resource is not an object")
        if r.get("mode", "managed") == "managed":
            if not r.get("address") or not r.get("type"):
                raise KeyError("a resource without address or type")
            yield r
    for child in module.get("child_modules") or []:
        yield from _module_resources(child)


def _index(key: Any) -> str:
    if key is None:
        return ""
    if isinstance(key, int) and not isinstance(key, bool):
        return f"[{key}]"
    return f"[{json.dumps(str(key))}]"


def _provider_source(text: str) -> str:
    """`provider["registry.terraform.io/hashicorp/aws"].eu` ->
    `registry.terraform.io/hashicorp/aws`"""
    m = re.search(r'provider\["([^"]+)"\]', text)
    return m.group(1) if m else text


def _path_head(path: Any) -> str:
    """The top-level attribute of one `sensitive_attributes` path of a state file."""
    if isinstance(path, list) and path and isinstance(path[0], Mapping):
        return str(path[0].get("value"))
    if isinstance(path, str):
        return path.split(".", 1)[0]
    return ""


def _sensitive_keys(marks: Any) -> set[str]:
    if marks is True:
        return {"*"}
    if not isinstance(marks, Mapping):
        return set()
    return {str(k) for k, v in marks.items() if any_true(v)}




def _object(address: str, rtype: str, provider: str, values: Mapping[str, Any],
            sensitive: set[str], actions: list[str]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    if rtype in MAPPED and "*" not in sensitive:
        for key, value in values.items():
            if key in sensitive:
                continue
            if key in _KEEP and (value is None or isinstance(value, _SCALAR)):
                kept[key] = value
            elif key in _NESTED and isinstance(value, list):
                kept[key] = [{k: v[k] for k in _NESTED[key]
                              if k in v and isinstance(v[k], _SCALAR)}
                             for v in value if isinstance(v, Mapping)]
    return {"address": address, "type": rtype, "provider_name": provider,
            "actions": list(actions), "values": kept}


# --- mapping to the model ------------------------------------------------------------------

def _short(provider_name: str, rtype: str) -> str:
    """registry.terraform.io/hashicorp/aws -> aws; without one, the type's prefix."""
    return (provider_name.rstrip("/").rsplit("/", 1)[-1] if provider_name
            else rtype.split("_", 1)[0])


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, _SCALAR) and str(value) else None


_AWS: Mapping[str, Kind] = {
    "aws_instance": Kind.COMPUTE,
    "aws_ebs_volume": Kind.VOLUME,
    "aws_db_instance": Kind.DATABASE, "aws_rds_cluster": Kind.DATABASE,
    "aws_rds_cluster_instance": Kind.DATABASE,
    "aws_lb": Kind.LOAD_BALANCER, "aws_alb": Kind.LOAD_BALANCER,
    "aws_lb_listener": Kind.LISTENER, "aws_alb_listener": Kind.LISTENER,
    "aws_s3_bucket": Kind.BUCKET,
    "aws_vpc": Kind.NETWORK, "aws_default_vpc": Kind.NETWORK,
    "aws_subnet": Kind.SUBNET, "aws_default_subnet": Kind.SUBNET,
    "aws_security_group": Kind.FIREWALL, "aws_default_security_group": Kind.FIREWALL,
    "aws_network_acl": Kind.FIREWALL, "aws_default_network_acl": Kind.FIREWALL,
    "aws_eip": Kind.PUBLIC_IP,
    "aws_acm_certificate": Kind.CERTIFICATE, "aws_iam_server_certificate": Kind.CERTIFICATE,
    "aws_kms_key": Kind.KEY,
    "aws_cloudtrail": Kind.LOG_TRAIL,
    "aws_backup_vault": Kind.BACKUP_VAULT,
    "aws_lambda_function": Kind.APP_SERVICE,
    "aws_cloudfront_distribution": Kind.CDN,
    "aws_bedrock_inference_profile": Kind.MODEL_DEPLOYMENT,
    "aws_ebs_snapshot": Kind.SNAPSHOT, "aws_db_snapshot": Kind.SNAPSHOT,
    "aws_db_cluster_snapshot": Kind.SNAPSHOT,
    "aws_iam_user": Kind.IDENTITY, "aws_iam_role": Kind.IDENTITY,
}

_AZURE: Mapping[str, Kind] = {
    "azurerm_linux_virtual_machine": Kind.COMPUTE,
    "azurerm_windows_virtual_machine": Kind.COMPUTE,
    "azurerm_virtual_machine": Kind.COMPUTE,
    "azurerm_managed_disk": Kind.VOLUME,
    "azurerm_lb": Kind.LOAD_BALANCER, "azurerm_application_gateway": Kind.LOAD_BALANCER,
    "azurerm_lb_rule": Kind.LISTENER,
    "azurerm_storage_account": Kind.BUCKET,
    "azurerm_virtual_network": Kind.NETWORK,
    "azurerm_subnet": Kind.SUBNET,
    "azurerm_network_security_group": Kind.FIREWALL,
    "azurerm_public_ip": Kind.PUBLIC_IP,
    "azurerm_mssql_database": Kind.DATABASE, "azurerm_sql_database": Kind.DATABASE,
    "azurerm_postgresql_flexible_server": Kind.DATABASE,
    "azurerm_mysql_flexible_server": Kind.DATABASE,
    "azurerm_key_vault": Kind.KEY_STORE,
    "azurerm_key_vault_key": Kind.KEY,
    "azurerm_recovery_services_vault": Kind.BACKUP_VAULT,
    "azurerm_linux_web_app": Kind.APP_SERVICE, "azurerm_windows_web_app": Kind.APP_SERVICE,
    "azurerm_linux_function_app": Kind.APP_SERVICE,
    "azurerm_windows_function_app": Kind.APP_SERVICE,
    "azurerm_app_service": Kind.APP_SERVICE, "azurerm_function_app": Kind.APP_SERVICE,
    "azurerm_cognitive_deployment": Kind.MODEL_DEPLOYMENT,
    "azurerm_monitor_diagnostic_setting": Kind.LOG_TRAIL,
    "azurerm_role_assignment": Kind.IDENTITY,
}

# hcloud type -> (kind, the live normalizer's native type in `type/id`)
_HCLOUD: Mapping[str, tuple[Kind, str]] = {
    "hcloud_server": (Kind.COMPUTE, "server"),
    "hcloud_load_balancer": (Kind.LOAD_BALANCER, "load_balancer"),
    "hcloud_load_balancer_service": (Kind.LISTENER, "load_balancer"),
    "hcloud_volume": (Kind.VOLUME, "volume"),
    "hcloud_network": (Kind.NETWORK, "network"),
    "hcloud_network_subnet": (Kind.SUBNET, "subnet"),
    "hcloud_firewall": (Kind.FIREWALL, "firewall"),
    "hcloud_primary_ip": (Kind.PUBLIC_IP, "primary_ip"),
    "hcloud_floating_ip": (Kind.PUBLIC_IP, "floating_ip"),
    "hcloud_managed_certificate": (Kind.CERTIFICATE, "certificate"),
    "hcloud_uploaded_certificate": (Kind.CERTIFICATE, "certificate"),
    "hcloud_certificate": (Kind.CERTIFICATE, "certificate"),
    "hcloud_snapshot": (Kind.SNAPSHOT, "image"),
}

MAPPED = frozenset({*_AWS, *_AZURE, *_HCLOUD})
NOT_MAPPED = "posture reads no live resource of this type"
NO_ID = "the file holds no cloud id for it"


class _Ctx:
    """What one file says beyond a single instance: the AWS account of its ARNs."""

    def __init__(self, source: str, objects: list[dict[str, Any]]) -> None:
        self.source = source
        accounts = {parts[4] for o in objects if o.get("type", "").startswith("aws_")
                    and (parts := str((o.get("values") or {}).get("arn") or "").split(":"))
                    and len(parts) > 4 and re.fullmatch(r"\d{12}", parts[4])}
        self.aws_account = accounts.pop() if len(accounts) == 1 else None

    def declare(self, obj: Mapping[str, Any], provider: str, kind: Kind | None,
                native_id: str | None, account: str | None = None, region: str | None = None,
                part: str = "", note: str = "") -> Declaration:
        actions = tuple(str(a) for a in obj.get("actions") or ())
        if kind is not None and native_id is None and not note and "create" not in actions:
            note = NO_ID
        return Declaration(source=self.source, address=str(obj["address"]) + part,
                           type=str(obj["type"]), provider=provider, kind=kind,
                           native_id=native_id, account=account, region=region,
                           actions=actions, note=note)


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def _aws(ctx: _Ctx, obj: Mapping[str, Any]) -> list[Declaration]:
    rtype, v = str(obj["type"]), obj.get("values") or {}
    kind = _AWS.get(rtype)
    if kind is None:
        return [ctx.declare(obj, "aws", None, None, note=NOT_MAPPED)]
    arn = _text(v.get("arn"))
    region = _text(v.get("region"))
    if rtype == "aws_s3_bucket" and not arn and (_text(v.get("bucket")) or _text(v.get("id"))):
        arn = f"arn:aws:s3:::{_text(v.get('bucket')) or _text(v.get('id'))}"
    parts = arn.split(":") if arn else []
    region = (parts[3] if len(parts) > 3 and parts[3] else None) or region
    account = (parts[4] if len(parts) > 4 and parts[4] else None) or ctx.aws_account
    if rtype == "aws_eip" and not arn:
        region = region or _text(v.get("network_border_group"))
        native = _text(v.get("allocation_id")) or _text(v.get("id"))
        if native and region and account:
            arn = f"arn:{_partition(region)}:ec2:{region}:{account}:elastic-ip/{native}"
    out = [ctx.declare(obj, "aws", kind, arn, account, region)]
    if rtype == "aws_instance" and arn and region and account:
        for block in ("root_block_device", "ebs_block_device"):
            for i, dev in enumerate(v.get(block) or []):
                vol = _text(dev.get("volume_id")) if isinstance(dev, Mapping) else None
                if vol:
                    out.append(ctx.declare(
                        obj, "aws", Kind.VOLUME,
                        f"arn:{parts[1]}:ec2:{region}:{account}:volume/{vol}", account, region,
                        part=f"#{block}[{i}]"))
    return out


def _azure_location(value: Any) -> str | None:
    text = _text(value)
    loc = "".join(text.lower().split()) if text else None
    return None if loc in (None, "global") else loc


def _azure(ctx: _Ctx, obj: Mapping[str, Any]) -> list[Declaration]:
    rtype, v = str(obj["type"]), obj.get("values") or {}
    kind = _AZURE.get(rtype)
    if kind is None:
        return [ctx.declare(obj, "azure", None, None, note=NOT_MAPPED)]
    rid = (_text(v.get("id")) or "").lower() or None
    note = ""
    if rtype == "azurerm_key_vault_key":  # its id is the key's versioned URL
        rid = (_text(v.get("resource_versionless_id")) or "").lower() or None
    if rtype == "azurerm_monitor_diagnostic_setting" and rid:
        target, _, name = rid.partition("|")
        if name:
            rid = f"{target}/providers/microsoft.insights/diagnosticsettings/{name}"
        if not re.fullmatch(r"/subscriptions/[^/]+", target):
            kind, note = None, "only subscription diagnostic settings (the activity log) " \
                               "are read live"
    account = rid.split("/")[2] if rid and rid.startswith("/subscriptions/") and \
        len(rid.split("/")) > 2 else None
    region = _azure_location(v.get("location"))
    out = [ctx.declare(obj, "azure", kind, rid, account, region, note=note)]
    if rid and rtype == "azurerm_virtual_network":
        for sub in v.get("subnet") or []:
            sid = _text(sub.get("id")) if isinstance(sub, Mapping) else None
            if sid:
                out.append(ctx.declare(obj, "azure", Kind.SUBNET, sid.lower(), account, region,
                                       part=f"#subnet.{sub.get('name') or sid.rsplit('/', 1)[-1]}"))
    if rid and kind is Kind.COMPUTE and "/providers/" in rid:
        group = rid.split("/providers/", 1)[0]
        for disk in v.get("os_disk") or []:
            disk_name = _text(disk.get("name")) if isinstance(disk, Mapping) else None
            if disk_name:
                out.append(ctx.declare(
                    obj, "azure", Kind.VOLUME,
                    f"{group}/providers/microsoft.compute/disks/{disk_name.lower()}", account,
                    region, part="#os_disk"))
    return out


def _hetzner(ctx: _Ctx, obj: Mapping[str, Any]) -> list[Declaration]:
    rtype, v = str(obj["type"]), obj.get("values") or {}
    mapped = _HCLOUD.get(rtype)
    if mapped is None:
        return [ctx.declare(obj, "hetzner", None, None, note=NOT_MAPPED)]
    kind, native_type = mapped
    raw_id = _text(v.get("id"))
    native: str | None = f"{native_type}/{raw_id}" if raw_id else None
    if rtype == "hcloud_network_subnet" and raw_id:
        network, sep, cidr = raw_id.partition("-")  # "<network id>-<ip range>"
        native = f"subnet/{network}/{cidr}" if sep else None
    elif rtype == "hcloud_load_balancer_service":
        lb, sep, port = (raw_id or "").partition("__")  # "<load balancer id>__<listen port>"
        if not sep:
            lb, port = _text(v.get("load_balancer_id")) or "", _text(v.get("listen_port")) or ""
        native = f"load_balancer/{lb}/service/{port}" if lb and port else None
    region = _text(v.get("location")) or _text(v.get("home_location"))
    if not region and _text(v.get("datacenter")):
        region = str(v["datacenter"]).split("-", 1)[0]  # fsn1-dc14 -> fsn1
    return [ctx.declare(obj, "hetzner", kind, native, None, region)]


_MAPPERS: Mapping[str, Callable[[_Ctx, Mapping[str, Any]], list[Declaration]]] = {
    "aws": _aws, "azurerm": _azure, "hcloud": _hetzner,
}


def declarations(source: str, objects: Iterable[Mapping[str, Any]]) -> list[Declaration]:
    objs = [dict(o) for o in objects]
    ctx = _Ctx(source, objs)
    out: list[Declaration] = []
    for obj in objs:
        short = _short(str(obj.get("provider_name") or ""), str(obj["type"]))
        mapper = _MAPPERS.get(short)
        if mapper is None:
            out.append(ctx.declare(obj, "", None, None,
                                   note=f"posture does not cover provider {short}"))
        else:
            out.extend(mapper(ctx, obj))
    return out


def normalize(section: Section) -> Inventory:
    return Inventory(provider=NAME, account=section.account, resources=(), relations=(),
                     declarations=tuple(declarations(section.account,
                                                     section.items(DECLARED))))


# --- the provider --------------------------------------------------------------------------

COLLECTIONS = {
    DECLARED: Collection(
        DECLARED, frozenset(), ("read a Terraform state or `terraform show -json` output",),
        "resource instances the file declares, with the attributes that identify them"),
}


class IacProvider(Provider):
    """Not a cloud and not a source to judge: the declared side of INV-01 (--iac FILE)."""

    name = NAME
    collections = COLLECTIONS

    def collect(self, options: Mapping[str, Any], only: Iterable[str] | None = None
                ) -> list[Section]:
        raise ProviderError("iac is not a live source: give infrastructure-as-code with "
                            "--iac FILE (terraform.tfstate or `terraform show -json` output) "
                            "beside the estate's sources")

    def normalize(self, section: Section) -> Inventory:
        return normalize(section)

    def read_file(self, path: Path, options: Mapping[str, Any]
                  ) -> tuple[list[Section], dict[str, Any]]:
        return read(path, options.get("collected_at"))

    def permissions(self, collections: Iterable[str] | None = None) -> dict[str, Any]:
        return {"provider": self.name, "calls": [],
                "note": "reads Terraform state or plan files (--iac); needs no cloud "
                        "credentials"}


PROVIDER = IacProvider()
