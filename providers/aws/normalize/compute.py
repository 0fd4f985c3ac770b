"""Compute and block storage: EC2 instances, EBS volumes and snapshots, Lambda functions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from providers.aws.apis import FLAGGED
from providers.aws.normalize.backup import backup_of
from providers.aws.normalize.common import _arr, _obj, iso, partition, tags
from providers.aws.normalize.context import Build
from providers.aws.normalize.network import (
    mark_groups,
    nacl_arn,
    nacl_layer,
    route_layer,
    sg_arn,
    sg_layer,
    subnet_unread,
)
from scanner.model import Kind, RelationType, Unread
from scanner.rules import Action, LayerMode, Rule, RuleLayer, admitted


def instances(ctx: Build) -> None:
    images = {img["ImageId"]: img for _, img in ctx.regional("ec2.describe_images")}
    images_read = {r for r in ctx.s.collections.get("ec2.describe_images", {})}
    user_data = {_obj(env.get("request"), "request").get("InstanceId"): env
                 for _, env in ctx.regional("ec2.describe_instance_attribute")}
    volumes_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _, vol in ctx.regional("ec2.describe_volumes"):
        for att in _arr(vol.get("Attachments"), "Attachments"):
            volumes_of[str(att.get("InstanceId"))].append({**att, "_vol": vol})
    volumes_known = "ec2.describe_volumes" in ctx.attempted
    ctx.instance_by_ip = {}
    for region, res in ctx.regional("ec2.describe_instances"):
        for inst in _arr(res.get("Instances"), "Instances"):
            state = _obj(inst.get("State"), "State").get("Name")
            if state in ("terminated", "shutting-down"):
                ctx.skip(str(inst.get("InstanceId")), "ec2_instance", str(state),
                         f"{state}: the instance is going or gone, nothing to judge")
                continue
            instance(ctx, region, inst, images, images_read, user_data, volumes_of,
                          volumes_known)


def interface_paths(paths: Mapping[tuple[RuleLayer, ...], list[str]]
                    ) -> tuple[RuleLayer, ...]:
    """The layers of an instance whose public addresses sit on interfaces with different
    layers: one UNION layer admitting exactly what crosses some interface's own layers
    (what each path admits, computed by scanner.rules.admitted), so that every address is
    judged against its own interface, never against another interface's firewalls."""
    if len(paths) == 1:
        return next(iter(paths))
    rules = tuple(Rule(Action.ALLOW, e.protocol, e.ports, e.sources, origin=" ".join(enis))
                  for path, enis in paths.items() for e in admitted(path))
    return (RuleLayer(
        name="network interfaces (each public address behind its own interface's layers)",
        mode=LayerMode.UNION, rules=rules, default=Action.DENY,
        present=all(any(layer.present for layer in path) for path in paths),
        origin=tuple(dict.fromkeys(o for path in paths for layer in path
                                   for o in layer.origin))),)


def instance(ctx: Build, region: str, inst: dict[str, Any], images: Mapping[str, Any],
             images_read: set[str], user_data: Mapping[Any, Any],
             volumes_of: Mapping[str, list[dict[str, Any]]], volumes_known: bool) -> None:
    iid = inst["InstanceId"]
    rid = ctx.arn("ec2", region, f"instance/{iid}")
    labels = tags(inst)
    enis = sorted(_arr(inst.get("NetworkInterfaces"), "NetworkInterfaces"),
                  key=lambda e: _obj(e.get("Attachment"), "Attachment").get("DeviceIndex", 0))
    if not enis:  # hand-written or minimal objects: the instance-level fields
        enis = [{"SubnetId": inst.get("SubnetId"), "Groups": inst.get("SecurityGroups"),
                 "Association": {"PublicIp": inst["PublicIpAddress"]}
                 if inst.get("PublicIpAddress") else None,
                 "PrivateIpAddresses": [{"PrivateIpAddress": inst.get("PrivateIpAddress")}]
                 if inst.get("PrivateIpAddress") else [], "Ipv6Addresses": []}]
    public: list[str] = []
    private: list[str] = []
    # Every interface is kept; each public address is judged against its own interface's
    # layers (its subnet's route table and network ACL, its security groups).
    paths: dict[tuple[RuleLayer, ...], list[str]] = {}
    layers: tuple[RuleLayer, ...] = ()
    for eni in enis:
        v4 = [a["PublicIp"] for a in [_obj(eni.get("Association"),
                                           "Association")] if a.get("PublicIp")]
        for p in _arr(eni.get("PrivateIpAddresses"), "PrivateIpAddresses"):
            if p.get("PrivateIpAddress"):
                private.append(p["PrivateIpAddress"])
            pub = _obj(p.get("Association"), "Association").get("PublicIp")
            if pub and pub not in v4:
                v4.append(pub)
        v6 = [a["Ipv6Address"] for a in _arr(eni.get("Ipv6Addresses"), "Ipv6Addresses")
              if a.get("Ipv6Address")]
        route, families = route_layer(ctx, eni.get("SubnetId"))
        reachable = [ip for ip in v4 if 4 in families] + [ip for ip in v6 if 6 in families]
        public.extend(ip for ip in reachable if ip not in public)
        groups = [str(g["GroupId"]) for g in _arr(eni.get("Groups"), "Groups") if g.get("GroupId")]
        nacl = nacl_layer(ctx, eni.get("SubnetId"))
        layers = (*(layer for layer in (route, nacl) if layer is not None),
                  sg_layer(ctx, groups))
        if reachable:
            paths.setdefault(layers, []).append(str(eni.get("NetworkInterfaceId") or
                                                    f"interface {len(paths)}"))
        if v4 or v6:  # the layers this public address's verdicts rest on
            mark_groups(ctx, rid, groups)
            unread = subnet_unread(ctx, eni.get("SubnetId"), region)
            if unread is not None:
                ctx.mark(rid, ("ingress", "public_ips"), unread)
        for g in _arr(eni.get("Groups"), "Groups"):
            ctx.relate(rid, sg_arn(ctx, g["GroupId"]), RelationType.PROTECTED_BY,
                       layer="security groups")
        acl = ctx.nacl_of_subnet.get(str(eni.get("SubnetId")))
        if acl is not None:
            ctx.relate(rid, nacl_arn(ctx, acl), RelationType.PROTECTED_BY,
                       layer="network ACL")
        if eni.get("SubnetId"):
            sn = ctx.subnets.get(str(eni["SubnetId"]), {})
            ctx.relate(rid, str(sn.get("SubnetArn") or ctx.arn(
                "ec2", region, f"subnet/{eni['SubnetId']}")), RelationType.ATTACHED_TO)
    for ip in private:
        ctx.instance_by_ip[f"{region}/{ip}"] = rid
    props: dict[str, Any] = {
        "public_ips": public,
        "private_ips": list(dict.fromkeys(private)),
        "ingress": interface_paths(paths) if paths else layers,
        "ssh_key_only": None if str(inst.get("Platform", "")).lower() == "windows"
        else bool(inst.get("KeyName")),
    }
    image = images.get(str(inst.get("ImageId")))
    props["image"] = (image or {}).get("Name") or inst.get("ImageId")
    if image is not None:
        # An unreadable DeprecationTime stays as given (VUL-01: "unreadable", an error),
        # never None ("supported").
        when = image.get("DeprecationTime")
        props["image_deprecated"] = iso(when) or (str(when) if when else None)
    elif region in images_read and ctx.read_ok("ec2.describe_images", region) \
            and inst.get("ImageId"):
        # Asked for and not returned: the AMI was deregistered (DescribeImages: "Recently
        # deregistered images appear in the returned results for a short interval and then
        # return empty results") or is no longer shared; whether its vendor deprecated it
        # is not known: an error of VUL-01, not a machine left out.
        props["image_deprecated"] = None
        ctx.mark(rid, ("image_deprecated",), Unread(
            f"image {inst.get('ImageId')} was not returned by DescribeImages (deregistered "
            "or no longer shared)", opens=True, closes=False))
    env = user_data.get(iid)
    if env is not None:
        props["plaintext_secrets"] = [f"UserData:{n}" for n in _arr(env.get("flagged"), "flagged")]
        if env.get("unscanned") is not None:  # decoded only in part (a bomb, a cut stream)
            ctx.mark(rid, ("plaintext_secrets",), Unread(
                f"the user data of {iid} was not scanned whole: {env.get('unscanned')}",
                opens=True, closes=False))
        elif not isinstance(env.get("flagged"), list):  # posture writes a list, always
            ctx.mark(rid, ("plaintext_secrets",), Unread(
                f"the user data scan of {iid} is not a list of names", opens=True,
                closes=False))
    elif "ec2.describe_instance_attribute" in ctx.attempted:
        # read for the other instances, not for this one (its call failed: the error names
        # it, mark_child_failures gives the reason): judged, and not known to be clean
        props["plaintext_secrets"] = []
        ctx.mark(rid, ("plaintext_secrets",), Unread(
            f"the user data of {iid} was not read", opens=True, closes=False))
    root = inst.get("RootDeviceName")
    attached = volumes_of.get(iid, [])
    if volumes_known or inst.get("BlockDeviceMappings"):
        devices = [a.get("Device") for a in attached] or [
            m.get("DeviceName") for m in _arr(inst.get("BlockDeviceMappings"),
                                              "BlockDeviceMappings")]
        props["stateful"] = any(d and d != root for d in devices)
    backup = backup_of(ctx, rid, region, labels, "EC2")
    if backup is not None:
        props.update(backup)
    elif ctx.backup_known:
        props.update({"backup_enabled": False, "backup_frequency_hours": None,
                      "backup_retention_days": None})
    ctx.add(Kind.COMPUTE, rid, "ec2_instance", inst, props, region,
            labels.get("Name") or iid, labels)
    ctx.covered_instances[rid] = backup is not None


def volumes(ctx: Build) -> None:
    for region, vol in ctx.regional("ec2.describe_volumes"):
        vid = ctx.arn("ec2", region, f"volume/{vol['VolumeId']}")
        labels = tags(vol)
        props: dict[str, Any] = {
            "encrypted": bool(vol.get("Encrypted")),
            "encryption_evidence": "config",
            "size_gb": vol.get("Size"),
        }
        backup = backup_of(ctx, vid, region, labels, "EBS")
        via_instance = any(ctx.covered_instances.get(ctx.arn(
            "ec2", region, f"instance/{a.get('InstanceId')}"))
            for a in _arr(vol.get("Attachments"), "Attachments"))
        if backup is not None or via_instance:
            props["backup_enabled"] = True
            props["replica_regions"] = (backup or {}).get("replica_regions", [])
        elif ctx.backup_known:
            props["backup_enabled"] = False
        ctx.add(Kind.VOLUME, vid, "ebs_volume", vol, props, region,
                labels.get("Name") or vol["VolumeId"], labels)
        for att in _arr(vol.get("Attachments"), "Attachments"):
            if att.get("InstanceId"):
                ctx.relate(vid, ctx.arn("ec2", region, f"instance/{att['InstanceId']}"),
                           RelationType.ATTACHED_TO)
        if vol.get("KmsKeyId"):
            ctx.relate(vid, str(vol["KmsKeyId"]), RelationType.ENCRYPTED_WITH)
    for region, snap in ctx.regional("ec2.describe_snapshots"):
        sid = f"arn:{partition(region)}:ec2:{region}::snapshot/{snap['SnapshotId']}"
        ctx.add(Kind.SNAPSHOT, sid, "ebs_snapshot", snap, {
            "encrypted": bool(snap.get("Encrypted")), "encryption_evidence": "config"},
            region, tags(snap).get("Name") or snap["SnapshotId"], tags(snap))
        if snap.get("VolumeId"):
            ctx.relate(ctx.arn("ec2", region, f"volume/{snap['VolumeId']}"), sid,
                       RelationType.BACKED_UP_BY)


def functions(ctx: Build) -> None:
    """Lambda functions: `$LATEST` and every published version (a version keeps the
    environment it was published with) are one function's configuration."""
    function_tags = ctx.tags_of("lambda.list_tags", "Resource")
    # by region and the name the request gave (a function's name or ARN, as the API takes)
    # (the collector always stores the merged pages' Versions list, empty or not: an answer
    # without one, or none, is no answer)
    versions_of = {(region, str(_obj(env.get("request"), "request").get("FunctionName"))):
                   _versions(env)
                   for region, env in ctx.regional("lambda.list_versions_by_function")}
    for region, fn in ctx.regional("lambda.list_functions"):
        arn = str(fn.get("FunctionArn"))
        flagged = list(_arr(fn.get(FLAGGED), FLAGGED))
        unreadable = [str(fn.get("Version") or "$LATEST")] if _env_error(fn) else []
        versions = versions_of.get((region, arn), versions_of.get(
            (region, str(fn.get("FunctionName")))))
        for version in versions or []:
            version = _obj(version, "Versions[]")
            flagged += [f"version {version.get('Version')}: {f}"
                        for f in _arr(version.get(FLAGGED), FLAGGED)]
            if _env_error(version):
                unreadable.append(f"version {version.get('Version')}")
        ctx.add(Kind.APP_SERVICE, arn, "lambda_function", fn, {
            "plaintext_secrets": flagged,
        }, region, str(fn.get("FunctionName")), function_tags.get(arn))
        if unreadable:
            ctx.mark(arn, ("plaintext_secrets",), Unread(
                f"the environment variables of {', '.join(unreadable)} were not returned "
                "(Environment.Error)", opens=True, closes=False))
        if versions is None and "lambda.list_versions_by_function" in ctx.attempted:
            # read for the functions, no answer for this one (a failed call names it too;
            # an answer missing from a snapshot, a request naming no function): its
            # published versions, and what their environments hold, are not known
            ctx.mark(arn, ("plaintext_secrets",), Unread(
                f"the published versions of {fn.get('FunctionName')} were not read",
                opens=True, closes=False))


def _versions(env: Mapping[str, Any]) -> list[Any] | None:
    response = env.get("response")
    versions = response.get("Versions") if isinstance(response, Mapping) else None
    return versions if isinstance(versions, list) else None


def _env_error(fn: Mapping[str, Any]) -> bool:
    """EnvironmentResponse.Error: "Error messages for environment variables that couldn't
    be applied" (Lambda API Reference; a KMS key Lambda cannot decrypt with): the variables
    were not returned, so what they hold is not known (never "none")."""
    return bool(_obj(_obj(fn.get("Environment"), "Environment").get("Error"), "Error"))


def task_definitions(ctx: Build) -> None:
    """Every ACTIVE ECS task definition revision listed: its containers' `environment`
    values were scanned at collection (collect.scan_containers); one not described is not
    known to be free of secrets."""
    described = {str(_obj(env.get("request"), "request").get("taskDefinition")): env
                 for _, env in ctx.regional("ecs.describe_task_definition")}
    failed = {str(e.get("resource")): e for e in ctx.s.errors
              if e.get("collection") == "ecs.describe_task_definition" and e.get("resource")}
    for region, item in ctx.regional("ecs.list_task_definitions"):
        arn = str(item.get("taskDefinitionArn"))
        env = described.get(arn)
        response = _obj((env or {}).get("response"), "response")
        task = _obj(response.get("taskDefinition"), "taskDefinition")
        labels = {str(t.get("key")): str(t.get("value", ""))
                  for t in _arr(response.get("tags"), "tags") if isinstance(t, Mapping)}
        ctx.add(Kind.APP_SERVICE, arn, "ecs_task_definition", task or item, {
            "plaintext_secrets": list(_arr(task.get(FLAGGED), FLAGGED)),
        }, region, arn.rsplit("/", 1)[-1], labels)
        if not task and arn not in failed:  # a failed read is marked by mark_child_failures
            ctx.mark(arn, ("plaintext_secrets", "labels"), Unread(
                "ecs.describe_task_definition did not describe it",
                opens=True, closes=True))
