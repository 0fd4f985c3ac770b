"""Values a provider accepts in any case or order are read in every form, as the live
reading does: an Azure flexible server's parameter names (ARM names, case-insensitive) and
MySQL's `tls_version` list (every version accepted, any order and case: the lowest is the
minimum); an AWS listener protocol spelled in lower case (plain `.tf` holds what the block
spells; the provider accepts any case)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fixtures.terraform.build_plans import plan, ref, res
from providers.terraform import PROVIDER
from scanner.model import Kind
from tests.helpers import PLAN_AWS as AWS
from tests.helpers import PLAN_STAMP as STAMP
from tests.helpers import findings_of, scan_json
from tests.helpers import write_plan as write

AZURERM = {"azurerm": {"name": "azurerm", "expressions": {}}}
MYSQL = "azurerm_mysql_flexible_server"


def verdicts(path: Path, checks: str) -> dict[tuple[str, str], str]:
    _, doc = scan_json(str(path), "--checks", checks)
    return {(f["check"], str(f["resource"]).split("/", 1)[-1]): f["status"]
            for f in findings_of(doc)}


def server(name: str, configs: dict[str, str]) -> list[dict[str, Any]]:
    rs = [res(f"{MYSQL}.{name}", {
        "name": f"db-{name}", "location": "westeurope", "resource_group_name": "rg",
        "version": "8.0.21", "sku_name": "GP_Standard_D2ds_v4", "delegated_subnet_id": None,
        "public_network_access_enabled": True, "tags": {}},
        unknown={"id": True, "fqdn": True})]
    for i, (param, value) in enumerate(configs.items()):
        rs.append(res(f"{MYSQL}_configuration.{name}_{i}", {"name": param, "value": value},
                      unknown={"id": True, "server_id": True},
                      expressions={"server_id": ref(f"{MYSQL}.{name}.id")}))
    return rs


def test_mysql_tls_versions_in_any_order_and_case_give_the_lowest(tmp_path: Path) -> None:
    rs = [
        *server("mixed", {"tls_version": "TLSv1.3,tlsv1.1"}),
        *server("modern", {"tls_version": "tlsv1.3, TLSv1.2"}),
        *server("odd", {"tls_version": "TLSv1.2,TLSv9"}),
    ]
    got = verdicts(write(tmp_path, plan(rs, provider_config=AZURERM, timestamp=STAMP)),
                   "TLS-01")
    # before: pass (the first of the values sorted by code point, "TLSv1.3", was read)
    assert got[("TLS-01", f"{MYSQL}.mixed")] == "fail"
    assert got[("TLS-01", f"{MYSQL}.modern")] == "pass"
    assert got[("TLS-01", f"{MYSQL}.odd")] == "error"  # a version not understood


def test_a_parameter_name_in_another_case_is_the_same_parameter(tmp_path: Path) -> None:
    rs = [
        *server("upper", {"TLS_VERSION": "TLSv1"}),
        *server("plain", {"Require_Secure_Transport": "OFF", "tls_version": "TLSv1.2"}),
    ]
    got = verdicts(write(tmp_path, plan(rs, provider_config=AZURERM, timestamp=STAMP)),
                   "TLS-01")
    # before: both pass (TLS 1.2 by default, secure transport on by default)
    assert got[("TLS-01", f"{MYSQL}.upper")] == "fail"
    assert got[("TLS-01", f"{MYSQL}.plain")] == "fail"


def test_a_lower_case_listener_protocol_is_the_apis_enum(tmp_path: Path) -> None:
    """`protocol = "tcp_udp"` is the TCP_UDP listener: the model's `tcp` (a pass-through
    carrying both transports), as live; before, the protocol `tcp_udp`, no model word."""
    rs = [
        res("aws_lb.nlb", {"name": "nlb", "internal": False, "load_balancer_type": "network"},
            unknown={"id": True, "arn": True}),
        res("aws_lb_listener.dns", {"port": 53, "protocol": "tcp_udp", "default_action": [
            {"type": "fixed-response", "order": 1}]},
            unknown={"id": True, "arn": True, "load_balancer_arn": True},
            expressions={"load_balancer_arn": ref("aws_lb.nlb.arn")}),
    ]
    path = write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP))
    sections, _ = PROVIDER.read_file(path, {})
    listeners = [r for r in PROVIDER.normalize(sections[0]).resources
                 if r.kind is Kind.LISTENER]
    assert [(r.properties["protocol"], sorted(r.properties["transport"]))
            for r in listeners] == [("tcp", ["tcp", "udp"])]


def test_an_rds_edition_engine_listens_on_its_familys_default_port(tmp_path: Path) -> None:
    """An aws_db_instance without `port` listens on its engine's default port: SQL Server
    editions (`sqlserver-ex`) on 1433, Oracle editions (`oracle-se2`) on 1521, whatever the
    case of the engine name. A security group admitting 1433 from anywhere puts the public
    SQL Server instance on the internet (NET-01 fail), as live reads Endpoint.Port; before,
    the edition name had no known port: error."""
    rule = {"protocol": "tcp", "from_port": 1433, "to_port": 1433,
            "cidr_blocks": ["0.0.0.0/0"], "ipv6_cidr_blocks": [], "prefix_list_ids": [],
            "security_groups": [], "self": False, "description": ""}
    rs = [res("aws_security_group.db", {"name": "db", "ingress": [rule]},
              unknown={"id": True})]
    for name, engine in (("mssql", "sqlserver-ex"), ("oracle", "Oracle-SE2")):
        rs.append(res(f"aws_db_instance.{name}", {
            "identifier": name, "engine": engine, "instance_class": "db.t3.small",
            "publicly_accessible": True, "storage_encrypted": True,
            "backup_retention_period": 7, "vpc_security_group_ids": [None]},
            unknown={"id": True, "arn": True, "port": True, "endpoint": True,
                     "vpc_security_group_ids": [True]},
            expressions={"vpc_security_group_ids": ref("aws_security_group.db.id")}))
    _code, doc = scan_json(str(write(tmp_path, plan(rs, provider_config=AWS,
                                                    timestamp=STAMP))),
                           "--checks", "NET-01,NET-02")
    got = {(f["check"], str(f["resource"]).split("/", 1)[-1]): f for f in findings_of(doc)}
    # before: error, "unknown until apply (ingress)" (no port known for the edition)
    assert got[("NET-02", "aws_db_instance.mssql")]["status"] == "fail"
    oracle = got.get(("NET-02", "aws_db_instance.oracle"))  # 1521: not admitted
    assert oracle is None or oracle["status"] == "pass"
    # before: "its firewall admits nothing from the internet today"
    assert "is reachable from the internet" in got[("NET-01", "aws_db_instance.mssql")][
        "message"]
