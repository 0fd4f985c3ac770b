"""SQL servers and databases, PostgreSQL and MySQL flexible servers."""

from __future__ import annotations

from collections import defaultdict

from providers.azure.normalize.common import (
    DB_PORTS,
    FLEX_DOC,
    REDUNDANCY,
    _loc,
    _pair,
    _parent,
    _props,
    _range_cidrs,
    _tls,
    lid,
)
from providers.azure.normalize.context import Build
from scanner.model import Kind, RelationType
from scanner.rules import Action, LayerMode, PortRange, Rule, RuleLayer


def db_layer(b: Build, rules_collection: str, server_id: str, port: int) -> RuleLayer:
    rules = []
    for rule in b.items(rules_collection):
        if _parent(lid(rule.get("id"))) != server_id:
            continue
        rp = _props(rule)
        sources = _range_cidrs(str(rp.get("startIpAddress") or ""),
                               str(rp.get("endIpAddress") or ""))
        if sources:
            rules.append(Rule(Action.ALLOW, "tcp", PortRange(port, port), sources,
                              origin=lid(rule.get("id"))))
    return RuleLayer("server firewall rules", LayerMode.UNION, tuple(rules), Action.DENY,
                     origin=(server_id,))


def sql(b: Build) -> None:
    tde = {_parent(lid(t.get("id"))): t for t in
           b.items("Microsoft.Sql/servers/databases/transparentDataEncryption")}
    strp = {_parent(lid(t.get("id"))): t for t in
            b.items("Microsoft.Sql/servers/databases/backupShortTermRetentionPolicies")}
    links: dict[str, list[str]] = defaultdict(list)
    for link in b.items("Microsoft.Sql/servers/databases/replicationLinks"):
        partner = _props(link).get("partnerLocation")
        if partner:
            links[_parent(lid(link.get("id")))].append("".join(str(partner).lower().split()))
    servers = b.by_id["Microsoft.Sql/servers"]
    for db in b.items("Microsoft.Sql/servers/databases"):
        db_id = lid(db.get("id"))
        if db_id.endswith("/databases/master"):
            continue
        server_id = _parent(db_id)
        server = servers.get(server_id, {})
        sp, p = _props(server), _props(db)
        public = lid(sp.get("publicNetworkAccess") or "enabled") != "disabled"
        red = REDUNDANCY.get(lid(p.get("currentBackupStorageRedundancy")
                                 or p.get("requestedBackupStorageRedundancy")))
        replicas = list(links.get(db_id, []))
        if red == "geo" and (pair := _pair(_loc(db) or _loc(server))):
            replicas.insert(0, pair)
        t = tde.get(db_id)
        state = lid(_props(t).get("state") or _props(t).get("status")) if t else ""
        retention = _props(strp[db_id]).get("retentionDays") if db_id in strp else None
        b.add(Kind.DATABASE, db, {
            "public_endpoint": public,
            "ingress": (db_layer(b, "Microsoft.Sql/servers/firewallRules", server_id,
                                      1433),),
            "public_ips": [],
            "min_tls": _tls(sp.get("minimalTlsVersion")) if sp else None,
            "encrypted": (state == "enabled") if t else None,
            "encryption_evidence": "config",
            "backup_enabled": True,
            "backup_retention_days": int(retention) if retention is not None else 7,
            "backup_frequency_hours": 24,
            "backup_redundancy": red,
            "replica_regions": list(dict.fromkeys(replicas)),
            "pitr_enabled": True,
        }, rid=db_id, name=f"{server.get('name') or server_id.rsplit('/', 1)[-1]}/"
                           f"{db.get('name')}")
        b.relate(db_id, server_id, RelationType.MEMBER_OF)


def flexible(b: Build, kind: str, servers: str, rules: str, configs: str, tls_param: str) -> None:
    conf = {_parent(lid(c.get("id"))): c for c in b.items(configs)}
    for srv in b.items(servers):
        sid = lid(srv.get("id"))
        p = _props(srv)
        network = p.get("network") or {}
        backup = p.get("backup") or {}
        delegated = bool(network.get("delegatedSubnetResourceId"))
        access = lid(network.get("publicNetworkAccess") or ("disabled" if delegated
                                                              else "enabled"))
        geo = lid(backup.get("geoRedundantBackup")) == "enabled"
        c = conf.get(sid)
        tls = _tls(str(_props(c).get("value") or "").split(",")[0]) if c else None
        retention = backup.get("backupRetentionDays")
        b.add(Kind.DATABASE, srv, {
            "public_endpoint": access == "enabled" and not delegated,
            "ingress": (db_layer(b, rules, sid, DB_PORTS[kind]),),
            "public_ips": [],
            "min_tls": tls,
            "encrypted": True,
            "encryption_evidence": "provider",
            "encryption_reference": FLEX_DOC,
            "backup_enabled": True,
            "backup_retention_days": int(retention) if retention is not None else 7,
            "backup_frequency_hours": 24,
            "backup_redundancy": "geo" if geo else "local",
            "replica_regions": [pr] if geo and (pr := _pair(_loc(srv))) else [],
            "pitr_enabled": True,
        }, rid=sid)
