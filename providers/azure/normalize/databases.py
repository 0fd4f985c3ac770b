"""SQL servers and databases, PostgreSQL and MySQL flexible servers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from providers.azure.apis import SECURE_TRANSPORT
from providers.azure.normalize.common import (
    DB_PORTS,
    FLEX_DOC,
    REDUNDANCY,
    _loc,
    _obj,
    _pair,
    _parent,
    _props,
    _range_cidrs,
    _str,
    _tls,
    lid,
)
from providers.azure.normalize.context import Build
from scanner.model import ANY_PROPERTY, Kind, RelationType, Unread
from scanner.rules import Action, LayerMode, PortRange, Rule, RuleLayer


def db_layer(b: Build, rules_collection: str, server_id: str, port: int) -> RuleLayer:
    rules = []
    for rule in b.items(rules_collection):
        if _parent(lid(rule.get("id"))) != server_id:
            continue
        rp = _props(rule)
        # an address of another type is refused, not read as no rule (an allow-all rule
        # dropped: NET-02 fail gone); the engine makes the server's verdicts `error`
        sources = _range_cidrs(_str(rp.get("startIpAddress"), "startIpAddress") or "",
                               _str(rp.get("endIpAddress"), "endIpAddress") or "")
        if sources:
            rules.append(Rule(Action.ALLOW, "tcp", PortRange(port, port), sources,
                              origin=lid(rule.get("id"))))
    return RuleLayer("server firewall rules", LayerMode.UNION, tuple(rules), Action.DENY,
                     origin=(server_id,))


SQL = "Microsoft.Sql/servers"
SQL_RULES = "Microsoft.Sql/servers/firewallRules"
SQL_DBS = "Microsoft.Sql/servers/databases"
SQL_TDE = "Microsoft.Sql/servers/databases/transparentDataEncryption"
SQL_STRP = "Microsoft.Sql/servers/databases/backupShortTermRetentionPolicies"
SQL_LINKS = "Microsoft.Sql/servers/databases/replicationLinks"


def sql(b: Build) -> None:
    tde = {_parent(lid(t.get("id"))): t for t in b.items(SQL_TDE)}
    strp = {_parent(lid(t.get("id"))): t for t in b.items(SQL_STRP)}
    links: dict[str, list[str]] = defaultdict(list)
    for link in b.items(SQL_LINKS):
        partner = _props(link).get("partnerLocation")
        if partner:
            links[_parent(lid(link.get("id")))].append("".join(str(partner).lower().split()))
    listed = {_parent(lid(db.get("id"))) for db in b.items(SQL_DBS)}  # master included
    with_databases: set[str] = set()
    for db in b.items(SQL_DBS):
        db_id = lid(db.get("id"))
        if db_id.endswith("/databases/master"):
            continue
        server_id = _parent(db_id)
        with_databases.add(server_id)
        server = b.located(SQL, server_id) or {}
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
            "ingress": (db_layer(b, SQL_RULES, server_id, 1433),),
            "public_ips": [],
            "min_tls": sql_min_tls(sp) if sp else None,
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
        _mark_server_reads(b, db_id, server_id)
        for collection, props, what in (
                (SQL_TDE, ("encrypted",), "TDE state"),
                (SQL_STRP, ("backup_retention_days",), "PITR retention"),
                (SQL_LINKS, ("replica_regions", "backup_redundancy"), "geo-replicas")):
            if (unread := b.unread(collection, db_id, what)) is not None:
                b.mark(db_id, props, unread)
    for server in b.items(SQL):
        server_id = lid(server.get("id"))
        if server_id in with_databases:
            continue
        # A server without user databases (or whose databases could not be listed) is
        # itself a database endpoint: "server-level IP firewall rules enable clients to
        # access the entire server" (https://learn.microsoft.com/azure/azure-sql/database/
        # firewall-configure). It holds no data: backups are those every database created
        # on it gets (automated, at least daily, 7 days by default: .../automated-backups-
        # overview); nothing to encrypt or replicate (no `encrypted`, no redundancy).
        sp = _props(server)
        b.add(Kind.DATABASE, server, {
            "public_endpoint": lid(sp.get("publicNetworkAccess") or "enabled") != "disabled",
            "ingress": (db_layer(b, SQL_RULES, server_id, 1433),),
            "public_ips": [],
            "min_tls": sql_min_tls(sp),
            "backup_enabled": True,
            "backup_retention_days": 7,
            "backup_frequency_hours": 24,
        }, rid=server_id)
        _mark_server_reads(b, server_id, server_id)
        # ARM lists every server's system database `master`: a server without one in the
        # list had its databases not read (or not for it). Then whether it is an empty
        # server is unknown: a pass on it is unsafe; what it admits (a fail) stands.
        unread = b.unread(SQL_DBS, server_id, "its databases", closes=False)
        if unread is None and server_id not in listed:
            unread = Unread(f"the databases of {server_id} were not read", "unknown",
                            closes=False)
        if unread is not None:
            b.mark(server_id, (ANY_PROPERTY,), unread)


def sql_min_tls(server_props: Mapping[str, Any]) -> str | None:
    """The lowest TLS version a SQL server accepts. `minimalTlsVersion` "None" (also "0")
    enforces no minimum: the server accepts "any TLS protocol version and unencrypted
    connections" (https://techcommunity.microsoft.com/t5/azure-sql-blog/azure-sql-is-
    deprecating-the-no-minimum-tls-mintls-none/ba-p/4508933; "the default for the minimal
    TLS version is to allow all versions", https://learn.microsoft.com/azure/azure-sql/
    database/connectivity-settings#minimal-tls-version): read as TLS 1.0, never unknown.
    Absent stays unknown (its default depends on when the server was created)."""
    value = server_props.get("minimalTlsVersion")
    if isinstance(value, str) and value.strip().lower() in ("none", "0"):
        return "1.0"
    return _tls(value)


def _mark_server_reads(b: Build, rid: str, server_id: str) -> None:
    """A server's firewall rules that could not be read: only admitting rules are missing
    (a rule can only open), so a pass on its `ingress` is unsafe, a fail stands."""
    unread = b.unread(SQL_RULES, server_id, "server firewall rules", closes=False)
    if unread is not None:
        b.mark(rid, ("ingress",), unread)


def flexible(b: Build, kind: str, servers: str, rules: str, configs: str, tls_param: str) -> None:
    # server -> parameter name -> configuration (the TLS parameter, require_secure_transport)
    params: dict[str, dict[str, Mapping[str, Any]]] = defaultdict(dict)
    for c in b.items(configs):
        cid = lid(c.get("id"))
        params[_parent(cid)][cid.rsplit("/", 1)[-1]] = c
    for srv in b.items(servers):
        sid = lid(srv.get("id"))
        p = _props(srv)
        network = _obj(p.get("network"), "network")
        backup = _obj(p.get("backup"), "backup")
        delegated = bool(network.get("delegatedSubnetResourceId"))
        access = lid(network.get("publicNetworkAccess") or ("disabled" if delegated
                                                              else "enabled"))
        geo = lid(backup.get("geoRedundantBackup")) == "enabled"
        tls_cfg = params[sid].get(tls_param)
        # MySQL's tls_version lists every version accepted ("TLSv1.2,TLSv1.3"), in any
        # order: the lowest one is the minimum (an unknown name leaves it unknown)
        value = str(_props(tls_cfg).get("value") or "") if tls_cfg else ""
        names = [_tls(v) for v in value.split(",") if v.strip()]
        known = [n for n in names if n is not None]
        tls = min(known) if known and len(known) == len(names) else None
        # `require_secure_transport` OFF accepts unencrypted connections too; it is ON by
        # default ("By default, secured connectivity between the client and the server is
        # enforced. If you want to disable TLS/SSL ... you can change the server parameter
        # require_secure_transport to OFF", https://learn.microsoft.com/azure/postgresql/
        # flexible-server/how-to-connect-tls-ssl; MySQL: .../mysql/flexible-server/how-to-
        # connect-tls-ssl). Plaintext is below any TLS floor: "1.0", the lowest the model
        # has. Not in the answer (a snapshot recorded before it was read): the default.
        secure = params[sid].get(SECURE_TRANSPORT)
        if secure is not None and lid(_str(_props(secure).get("value"), "value")) in (
                "off", "0", "false"):
            tls = "1.0"
        retention = backup.get("backupRetentionDays")
        for collection, props, what, closes in (
                (rules, ("ingress",), "server firewall rules", False),
                (configs, ("min_tls",), tls_param, True)):
            if (unread := b.unread(collection, sid, what, closes=closes)) is not None:
                b.mark(sid, props, unread)
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
