"""Databases: RDS instances, Aurora clusters and their snapshots."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from providers.aws.normalize.backup import backup_of
from providers.aws.normalize.common import _arr, _obj, listify, parse_time, region_of_arn, tags
from providers.aws.normalize.context import Build
from providers.aws.normalize.network import mark_groups, routed, sg_arn, sg_layer, subnet_unread
from scanner.model import Kind, RelationType, Unread
from scanner.rules import Action, LayerMode, PortRange, Rule, RuleLayer


def databases(ctx: Build) -> None:
    automated: dict[str, set[str]] = defaultdict(set)
    for region, ab in ctx.regional("rds.describe_db_instance_automated_backups"):
        # A replicated automated backup lives in `region` and names its source region.
        if ab.get("Region") and ab.get("Region") != region and ab.get("DBInstanceArn"):
            automated[str(ab["DBInstanceArn"])].add(region)
    members_public: dict[str, bool] = {}
    members_unread: dict[str, Unread] = {}
    for region, db in ctx.regional("rds.describe_db_instances"):
        name = ctx.stable_id(db, "DBInstanceIdentifier", "DbiResourceId")
        arn = str(db.get("DBInstanceArn") or ctx.arn("rds", region, f"db:{name}"))
        labels = tags(db, "TagList")
        subnets = [s["SubnetIdentifier"] for s in
                   _arr(_obj(db.get("DBSubnetGroup"), "DBSubnetGroup").get("Subnets"), "Subnets")
                   if s.get("SubnetIdentifier")]
        on_route = routed(ctx, subnets) if subnets else None
        public = bool(db.get("PubliclyAccessible")) and on_route is not False
        if db.get("PubliclyAccessible") is None and on_route is not False:
            # DescribeDBInstances always answers PubliclyAccessible (RDS API Reference,
            # DBInstance); its default at creation depends on the VPC (CreateDBInstance: "If
            # the default VPC in the target Region has an internet gateway attached to it,
            # the DB instance is public"). An answer without it says nothing either way.
            absent = Unread(f"DB instance {name}: PubliclyAccessible not in the answer",
                            opens=True, closes=False)
            ctx.mark(arn, ("public_endpoint", "ingress"), absent)
            if db.get("DBClusterIdentifier"):  # the cluster is public when a member is
                members_unread.setdefault(f"{region}/{db['DBClusterIdentifier']}", absent)
        # Publicly accessible, routing unknown: judged public; the routes could close it.
        unread = next((u for s in subnets if (u := subnet_unread(ctx, s, region))), None) \
            if public and on_route is None and subnets else None
        if unread is not None:
            ctx.mark(arn, ("public_endpoint", "ingress"), unread)
        mark_groups(ctx, arn, db_groups(db))
        if db.get("DBClusterIdentifier"):
            key = f"{region}/{db['DBClusterIdentifier']}"
            members_public[key] = members_public.get(key, False) or public
            if unread is not None:
                members_unread[key] = unread
        replicas = {rr for r in listify(db.get("ReadReplicaDBInstanceIdentifiers"))
                    if (rr := region_of_arn(str(r))) and rr != region}
        copies: set[str] = {c for r in _arr(db.get("DBInstanceAutomatedBackupsReplications"),
                                            "DBInstanceAutomatedBackupsReplications")
                            if (c := region_of_arn(str(r.get("DBInstanceAutomatedBackupsArn",
                                                             ""))))}
        copies |= automated.get(arn, set())
        props = db_props(ctx, region, db, arn, labels, public, copies | replicas,
                              int(db.get("BackupRetentionPeriod") or 0), bool(copies))
        props["ingress"] = db_ingress(ctx, db, _obj(db.get("Endpoint"), "Endpoint").get("Port"))
        ctx.add(Kind.DATABASE, arn, "rds_instance", db, props, region, name, labels)
        db_relations(ctx, arn, db)
    for region, cl in ctx.regional("rds.describe_db_clusters"):
        # Older recorded shapes have no DBClusterArn: the ARN from the identifier (or the
        # content), never "None" for every such cluster.
        name = ctx.stable_id(cl, "DBClusterIdentifier", "DbClusterResourceId")
        arn = str(cl.get("DBClusterArn") or ctx.arn("rds", region, f"cluster:{name}"))
        labels = tags(cl, "TagList")
        public = members_public.get(f"{region}/{cl.get('DBClusterIdentifier')}", False)
        unread = members_unread.get(f"{region}/{cl.get('DBClusterIdentifier')}")
        if unread is not None:
            ctx.mark(arn, ("public_endpoint", "ingress"), unread)
        mark_groups(ctx, arn, db_groups(cl))
        copies = set()
        for rid in listify(cl.get("ReadReplicaIdentifiers")):
            rr = region_of_arn(str(rid))
            if rr and rr != region:
                copies.add(rr)
        props = db_props(ctx, region, cl, arn, labels, public, copies,
                              int(cl.get("BackupRetentionPeriod") or 0), False)
        props["ingress"] = db_ingress(ctx, cl, cl.get("Port"))
        ctx.add(Kind.DATABASE, arn, "rds_cluster", cl, props, region, name, labels)
        db_relations(ctx, arn, cl)
    for region, snap in ctx.regional("rds.describe_db_snapshots"):
        name = ctx.stable_id(snap, "DBSnapshotIdentifier", "DbiResourceId")
        arn = str(snap.get("DBSnapshotArn") or ctx.arn("rds", region, f"snapshot:{name}"))
        ctx.add(Kind.SNAPSHOT, arn, "rds_snapshot", snap, {
            "encrypted": bool(snap.get("Encrypted")), "encryption_evidence": "config"},
            region, name, tags(snap, "TagList"))
    for region, snap in ctx.regional("rds.describe_db_cluster_snapshots"):
        name = ctx.stable_id(snap, "DBClusterSnapshotIdentifier")
        arn = str(snap.get("DBClusterSnapshotArn") or ctx.arn(
            "rds", region, f"cluster-snapshot:{name}"))
        ctx.add(Kind.SNAPSHOT, arn, "rds_cluster_snapshot", snap, {
            "encrypted": bool(snap.get("StorageEncrypted")),
            "encryption_evidence": "config"}, region, name, tags(snap, "TagList"))


def db_props(ctx: Build, region: str, db: Mapping[str, Any], arn: str, labels: Mapping[str, str],
             public: bool, copies: set[str], retention: int, replicated: bool
             ) -> dict[str, Any]:
    latest = parse_time(db.get("LatestRestorableTime"))
    aurora_member = bool(db.get("DBInstanceIdentifier") and db.get("DBClusterIdentifier"))
    if retention > 0 and latest is None and not aurora_member:
        # With automated backups on, RDS answers the latest time it can restore to
        # (RDS API Reference, DBInstance/DBCluster LatestRestorableTime); an answer without
        # it (or with one not a time) does not show point-in-time recovery available. An
        # Aurora instance's restore point is its cluster's, judged there.
        ctx.mark(arn, ("pitr_lag_minutes",), Unread(
            f"{arn}: LatestRestorableTime {db.get('LatestRestorableTime')!r} not a time",
            opens=True, closes=False))
    props: dict[str, Any] = {
        "public_ips": [],
        "public_endpoint": public,
        "encrypted": bool(db.get("StorageEncrypted")),
        "encryption_evidence": "config",
        "backup_enabled": retention > 0,
        "backup_retention_days": retention or None,
        "backup_frequency_hours": 24 if retention > 0 else None,
        "pitr_enabled": retention > 0,
        "pitr_lag_minutes": max(0.0, round((ctx.collected_at - latest).total_seconds()
                                           / 60, 2))
        if retention > 0 and latest else None,
        "backup_redundancy": ("geo" if replicated else "zone") if retention > 0 else None,
        "replica_regions": sorted(copies),
    }
    # RDS automated backups run daily (RDS User Guide, "Backup window") and are kept
    # BackupRetentionPeriod days; judged with AWS Backup's rules as one more schedule.
    backup = backup_of(ctx, arn, region, labels, backup_type(db),
                       ((24, retention),) if retention > 0 else ())
    if backup is not None:
        props["backup_enabled"] = True
        props["backup_retention_days"] = backup["backup_retention_days"]
        props["backup_frequency_hours"] = backup["backup_frequency_hours"]
        props["replica_regions"] = sorted(set(props["replica_regions"])
                                          | set(backup["replica_regions"]))
        if props["replica_regions"]:
            props["backup_redundancy"] = "geo"
        elif props["backup_redundancy"] is None:
            props["backup_redundancy"] = backup["backup_redundancy"]
    return props


def backup_type(db: Mapping[str, Any]) -> str:
    """The AWS Backup resource type of an RDS instance or cluster (the names of
    DescribeRegionSettings' ResourceTypeOptInPreference): Aurora, Neptune and DocumentDB
    by their engine, every other DB instance or cluster RDS."""
    engine = str(db.get("Engine") or "").lower()
    for prefix, rtype in (("aurora", "Aurora"), ("neptune", "Neptune"),
                          ("docdb", "DocumentDB")):
        if engine.startswith(prefix):
            return rtype
    return "RDS"


def db_groups(db: Mapping[str, Any]) -> list[str]:
    """Every active security group of the database (all of them, not the first). A group
    id or status of another type is refused, not read as "no group" (which closed the
    database's exposure: NET-01 error -> pass)."""
    out = []
    for g in _arr(db.get("VpcSecurityGroups"), "VpcSecurityGroups"):
        gid, status = _obj(g, "VpcSecurityGroups[]").get("VpcSecurityGroupId"), \
            g.get("Status", "active")
        for name, value in (("VpcSecurityGroupId", gid), ("Status", status)):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name}: expected a string, got {type(value).__name__}")
        if gid and status == "active":
            out.append(gid)
    return out


def db_ingress(ctx: Build, db: Mapping[str, Any], port: Any) -> tuple[RuleLayer, ...]:
    groups = db_groups(db)
    layers = []
    if port:
        layers.append(RuleLayer(
            name="database endpoint port", mode=LayerMode.UNION,
            rules=(Rule(Action.ALLOW, "tcp", PortRange(int(port), int(port)),
                        origin=f"endpoint:{port}"),), default=Action.DENY))
    layers.append(sg_layer(ctx, groups))
    return tuple(layers)


def db_relations(ctx: Build, arn: str, db: Mapping[str, Any]) -> None:
    for g in _arr(db.get("VpcSecurityGroups"), "VpcSecurityGroups"):
        if g.get("VpcSecurityGroupId"):
            ctx.relate(arn, sg_arn(ctx, g["VpcSecurityGroupId"]),
                       RelationType.PROTECTED_BY, layer="security groups")
    if db.get("KmsKeyId"):
        ctx.relate(arn, str(db["KmsKeyId"]), RelationType.ENCRYPTED_WITH)
