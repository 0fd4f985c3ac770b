"""Plans as people really have them (issue 16): every format Terraform and OpenTofu wrote,
the encodings shells save them in, sorted keys, unknown attachment lists, root volumes
without a block, rules without machines. Public plans written by others are in
tests/data/plans/ (README.md there names their source and licence)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fixtures.terraform.build_plans import const, plan, ref, res
from providers.terraform import PROVIDER
from scanner.model import Kind, Resource
from tests.helpers import ROOT, findings_of, run, scan_json

DATA = ROOT / "tests" / "data" / "plans"
TERRAGOAT = DATA / "checkov-terragoat-0.1.plan.json"  # Terraform 0.12.23, format 0.1
UTF16 = DATA / "checkov-utf16-0.2.plan.json"  # Terraform 1.0.5, format 0.2, UTF-16 LE + BOM
GATE = ROOT / "fixtures" / "terraform" / "hcloud-gate.plan.json"
AWS = {"aws": {"name": "aws", "expressions": {"region": const("eu-central-1")}}}
STAMP = "2026-12-06T12:00:00Z"


def verdicts(doc: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(f["check"], str(f["resource"]).split("/", 1)[-1]): f["status"]
            for f in findings_of(doc)}


def finding(doc: dict[str, Any], check: str, address: str) -> dict[str, Any]:
    hits = [f for f in findings_of(doc) if f["check"] == check
            and str(f["resource"]).endswith("/" + address)]
    assert len(hits) == 1, (check, address, [f["resource"] for f in findings_of(doc)])
    return hits[0]


def write(tmp_path: Path, doc: dict[str, Any], name: str = "plan.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def inventory(path: Path) -> dict[str, Resource]:
    sections, _ = PROVIDER.read_file(path, {})
    return {r.id.split("/", 1)[1]: r for r in PROVIDER.normalize(sections[0]).resources}


# --- formats, encodings, recognition ---------------------------------------------------------


def test_format_0_1_of_terraform_0_12_is_read() -> None:
    code, doc = scan_json(str(TERRAGOAT), "--checks", "NET-02")
    assert code == 1
    assert verdicts(doc)[("NET-02", "aws_instance.web_host")] == "fail"


def test_format_0_2_in_utf16_with_bom_is_read() -> None:
    assert UTF16.read_bytes()[:2] == b"\xff\xfe"
    code, doc = scan_json(str(UTF16), "--checks", "ENC-01")
    assert code in (0, 1), doc
    assert ("ENC-01", "aws_s3_bucket.s3-bucket") in verdicts(doc)


@pytest.mark.parametrize("codec,bom", [("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"),
                                       ("utf-16-be", b"\xfe\xff")])
def test_every_encoding_a_shell_saves_gives_the_same_findings(tmp_path: Path, codec: str,
                                                              bom: bytes) -> None:
    _, plain = scan_json(str(GATE), "--checks", "NET-01,NET-02,ENC-01")
    path = tmp_path / "hcloud-gate.plan.json"
    path.write_bytes(bom + GATE.read_text().encode(codec))
    code, doc = scan_json(str(path), "--checks", "NET-01,NET-02,ENC-01")
    assert code == 1
    assert verdicts(doc) == verdicts(plain)


def test_a_plan_with_sorted_keys_is_recognised_by_structure(tmp_path: Path) -> None:
    doc = json.loads(GATE.read_text())
    # a long description puts format_version 160 KB into the file once keys are sorted
    doc["configuration"]["root_module"]["variables"] = {
        "note": {"description": "x" * 160_000}}
    text = json.dumps(doc, sort_keys=True, indent=2)
    assert text.index('"format_version"') > 160_000
    path = tmp_path / "sorted.json"
    path.write_text(text)
    code, out = scan_json(str(path), "--checks", "NET-01")
    assert code == 1
    assert verdicts(out)[("NET-01", "hcloud_server.db")] == "fail"


def test_a_format_newer_than_posture_knows_is_refused_as_such(tmp_path: Path) -> None:
    doc = json.loads(GATE.read_text())
    doc["format_version"] = "2.1"
    result = run("scan", str(write(tmp_path, doc)))
    assert result.exit_code == 2
    assert "newer than this posture knows" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_closed_stdout_is_a_normal_end() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", "from scanner.cli import main; main()", "scan", str(TERRAGOAT),
         "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # `| head -1`
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    assert "BrokenPipe" not in err and "internal error" not in err, err
    assert code in (1, 3)  # the verdict, as if the whole report had been read


# --- unknown attachment lists ----------------------------------------------------------------


def test_an_unknown_security_groups_list_is_the_configured_groups_not_allow_all() -> None:
    # Terraform 0.12 plans every new aws_instance's security_groups and
    # vpc_security_group_ids as unknown; the configuration references web-node (22, 80 open)
    code, doc = scan_json(str(TERRAGOAT), "--checks", "NET-02,NET-03,NET-04")
    got = verdicts(doc)
    assert got[("NET-04", "aws_instance.web_host")] == "pass"  # not "error"
    net02 = finding(doc, "NET-02", "aws_instance.web_host")
    assert net02["status"] == "fail"
    assert [v["ports"] for v in net02["evidence"]["violations"]] == ["22"]
    assert code == 1


def test_an_instance_naming_no_group_gets_its_vpcs_default_group(tmp_path: Path) -> None:
    def one(default_sg: bool) -> dict[str, Any]:
        rs = [res("aws_vpc.main", {"cidr_block": "10.0.0.0/16"}),
              res("aws_subnet.pub", {"cidr_block": "10.0.1.0/24", "map_public_ip_on_launch": True},
                  unknown={"vpc_id": True}, expressions={"vpc_id": ref("aws_vpc.main.id")}),
              res("aws_instance.app", {"ami": "ami-1", "instance_type": "t3.micro",
                                       "root_block_device": [{"encrypted": True}]},
                  unknown={"security_groups": True, "vpc_security_group_ids": True,
                           "subnet_id": True, "public_ip": True},
                  expressions={"ami": const("ami-1"), "subnet_id": ref("aws_subnet.pub.id")})]
        if default_sg:  # managed by the plan: the VPC's default group admits 443 only
            rs.append(res("aws_default_security_group.d", {"ingress": [
                {"cidr_blocks": ["0.0.0.0/0"], "from_port": 443, "to_port": 443,
                 "protocol": "tcp", "ipv6_cidr_blocks": [], "prefix_list_ids": [],
                 "security_groups": [], "self": False}]},
                unknown={"vpc_id": True}, expressions={"vpc_id": ref("aws_vpc.main.id")}))
        return plan(rs, provider_config=AWS, timestamp=STAMP)

    for managed, expected in ((False, "error"), (True, "pass")):
        path = write(tmp_path, one(managed), f"default-{managed}.json")
        _, out = scan_json(str(path), "--checks", "NET-02")
        assert verdicts(out)[("NET-02", "aws_instance.app")] == expected, managed


def test_a_verdict_the_same_in_both_worlds_keeps_the_certain_evidence(tmp_path: Path) -> None:
    doc = json.loads(TERRAGOAT.read_text())
    for rc in doc["resource_changes"]:
        if rc["address"] == "aws_security_group_rule.ingress":  # 3306 from an unknown CIDR
            rc["change"]["after"]["cidr_blocks"] = None
            rc["change"]["after_unknown"]["cidr_blocks"] = True
    for r in doc["planned_values"]["root_module"]["resources"]:
        if r["address"] == "aws_security_group_rule.ingress":
            r["values"]["cidr_blocks"] = None
    for r in doc["configuration"]["root_module"]["resources"]:
        if r["address"] == "aws_instance.web_host":
            r["expressions"]["vpc_security_group_ids"] = ref(
                "aws_security_group.web-node.id", "aws_security_group.default.id")
    _, out = scan_json(str(write(tmp_path, doc)), "--checks", "NET-02")
    f = finding(out, "NET-02", "aws_instance.web_host")
    assert f["status"] == "fail"  # 22 is open to the world whatever the CIDR turns out to be
    assert [v["ports"] for v in f["evidence"]["violations"]] == ["22"]  # not "22, 3306"


# --- root volumes ------------------------------------------------------------------------------


@pytest.mark.parametrize("account_default,expected", [
    (None, "error"), (True, "pass"), (False, "fail")])
def test_a_root_volume_without_a_block_is_judged(tmp_path: Path, account_default: bool | None,
                                                 expected: str) -> None:
    doc = json.loads(TERRAGOAT.read_text())
    if account_default is not None:
        extra = res("aws_ebs_encryption_by_default.on", {"enabled": account_default})
        extra_plan = plan([extra], provider_config=AWS, timestamp=STAMP)
        doc["planned_values"]["root_module"]["resources"] += \
            extra_plan["planned_values"]["root_module"]["resources"]
        doc["resource_changes"] += extra_plan["resource_changes"]
        doc["configuration"]["root_module"]["resources"] += \
            extra_plan["configuration"]["root_module"]["resources"]
    _, out = scan_json(str(write(tmp_path, doc)), "--checks", "ENC-01")
    assert verdicts(out)[("ENC-01", "aws_instance.web_host/root_block_device/0")] == expected


# --- rules without machines: firewall resources carry their rules ----------------------------


def _rules(r: Resource) -> set[tuple[str, str, str, tuple[str, ...]]]:
    return {(x["action"], x["protocol"], x["ports"], tuple(x["sources"]))
            for x in r.properties["firewall_rules"]}


def test_security_groups_and_their_separate_rules_are_firewalls_with_rules(
        tmp_path: Path) -> None:
    sg_rule = {"cidr_blocks": ["0.0.0.0/0"], "from_port": 22, "to_port": 22, "protocol": "tcp",
               "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [],
               "self": False, "description": ""}
    rs = [
        res("aws_security_group.inline", {"name": "inline", "ingress": [sg_rule]}),
        res("aws_security_group.bare", {"name": "bare"}, unknown={"ingress": True, "id": True}),
        res("aws_security_group_rule.rdp", {"type": "ingress", "from_port": 3389,
                                            "to_port": 3389, "protocol": "tcp",
                                            "cidr_blocks": ["0.0.0.0/0"]},
            unknown={"security_group_id": True},
            expressions={"security_group_id": ref("aws_security_group.bare.id")}),
        res("aws_vpc_security_group_ingress_rule.pg", {"from_port": 5432, "to_port": 5432,
                                                       "ip_protocol": "tcp",
                                                       "cidr_ipv4": "0.0.0.0/0"},
            unknown={"security_group_id": True},
            expressions={"security_group_id": ref("aws_security_group.bare.id")}),
        res("aws_default_security_group.d", {"ingress": [{**sg_rule, "from_port": 0,
                                                          "to_port": 0, "protocol": "-1"}]}),
        res("aws_network_acl.a", {"ingress": [
            {"action": "deny", "rule_no": 50, "protocol": "tcp", "from_port": 3389,
             "to_port": 3389, "cidr_block": "0.0.0.0/0", "ipv6_cidr_block": "",
             "icmp_code": 0, "icmp_type": 0}]}),
        res("aws_network_acl_rule.ssh", {"network_acl_id": "acl-1", "rule_number": 100,
                                         "egress": False, "protocol": "6",
                                         "rule_action": "allow", "cidr_block": "0.0.0.0/0",
                                         "from_port": 22, "to_port": 22},
            unknown={"network_acl_id": True},
            expressions={"network_acl_id": ref("aws_network_acl.a.id")}),
    ]
    got = inventory(write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP)))
    assert all(got[a].kind is Kind.FIREWALL for a in (
        "aws_security_group.inline", "aws_security_group.bare", "aws_default_security_group.d",
        "aws_network_acl.a"))
    assert _rules(got["aws_security_group.inline"]) == {("allow", "tcp", "22", ("0.0.0.0/0",))}
    bare = _rules(got["aws_security_group.bare"])
    assert {("allow", "tcp", "3389", ("0.0.0.0/0",)),
            ("allow", "tcp", "5432", ("0.0.0.0/0",))} <= bare
    assert _rules(got["aws_default_security_group.d"]) == {
        ("allow", "*", "all", ("0.0.0.0/0",))}
    acl = got["aws_network_acl.a"].properties["firewall_rules"]
    assert [(x["action"], x["priority"], x["ports"]) for x in acl] == [
        ("deny", 50, "3389"), ("allow", 100, "22"), ("deny", 32767, "all")]


def test_azure_nsgs_and_hcloud_firewalls_are_firewalls_with_rules(tmp_path: Path) -> None:
    azure = {"azurerm": {"name": "azurerm", "expressions": {}}}
    rs = [
        res("azurerm_network_security_group.web", {
            "name": "web", "location": "westeurope", "resource_group_name": "rg",
            "security_rule": [{"name": "ssh", "priority": 100, "direction": "Inbound",
                               "access": "Allow", "protocol": "Tcp",
                               "source_address_prefix": "*", "source_port_range": "*",
                               "destination_port_range": "22",
                               "destination_address_prefix": "*"}]}),
        res("azurerm_network_security_rule.rdp", {
            "name": "rdp", "priority": 200, "direction": "Inbound", "access": "Allow",
            "protocol": "Tcp", "source_address_prefix": "Internet", "source_port_range": "*",
            "destination_port_range": "3389", "destination_address_prefix": "*",
            "resource_group_name": "rg", "network_security_group_name": "web"},
            expressions={"network_security_group_name": ref(
                "azurerm_network_security_group.web.name")}),
        res("hcloud_firewall.fw", {"name": "fw", "rule": [
            {"direction": "in", "protocol": "tcp", "port": "22",
             "source_ips": ["0.0.0.0/0", "::/0"]}]}),
    ]
    got = inventory(write(tmp_path, plan(rs, provider_config=azure, timestamp=STAMP)))
    nsg = got["azurerm_network_security_group.web"]
    assert nsg.kind is Kind.FIREWALL
    ports = {(x["action"], x["ports"]) for x in nsg.properties["firewall_rules"]
             if "0.0.0.0/0" in x["sources"]}
    assert {("allow", "22"), ("allow", "3389")} <= ports
    fw = got["hcloud_firewall.fw"].properties["firewall_rules"]
    assert [(x["action"], x["protocol"], x["ports"]) for x in fw] == [("allow", "tcp", "22")]


def test_unknown_rule_parts_give_firewall_rules_in_both_worlds(tmp_path: Path) -> None:
    rs = [res("aws_security_group.g", {"name": "g", "ingress": [
        {"from_port": 5432, "to_port": 5432, "protocol": "tcp", "ipv6_cidr_blocks": [],
         "prefix_list_ids": [], "security_groups": [], "self": False}]},
        unknown={"ingress": [{"cidr_blocks": True}]})]
    g = inventory(write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP)))[
        "aws_security_group.g"]
    assert _rules(g) == {("allow", "tcp", "5432", ("0.0.0.0/0", "::/0"))}
    assert g.properties["iac"]["unknown"]["firewall_rules"] == []



# --- what posture cannot judge can stop the gate ------------------------------------------


def test_fail_on_unassessed_refuses_a_plan_it_cannot_judge(tmp_path: Path) -> None:
    gcp = {"google": {"name": "google", "expressions": {}}}
    doc = plan([res("google_compute_instance.vm", {"name": "vm", "zone": "europe-west3-a"})],
               provider_config=gcp, timestamp=STAMP)
    path = write(tmp_path, doc)
    assert run("scan", str(path)).exit_code == 0
    table = run("scan", str(path), "--fail-on-unassessed")
    assert table.exit_code == 3
    assert "1 not assessed" in table.stdout
    sarif = run("scan", str(path), "--format", "sarif", "--fail-on-unassessed")
    assert json.loads(sarif.stdout)["runs"][0]["properties"]["unassessed"] == 1
    config = tmp_path / "posture.toml"
    config.write_text("fail-on-unassessed = true\n")
    assert run("--config", str(config), "scan", str(path)).exit_code == 3
    # what the plan deletes is not "cannot judge"
    gate = run("scan", str(GATE), "--fail-on", "none", "--allow-partial", "--checks", "NET-01")
    assert gate.exit_code == 0
    assert run("scan", str(GATE), "--fail-on", "none", "--allow-partial", "--checks", "NET-01",
               "--fail-on-unassessed").exit_code == 3  # hcloud_ssh_key: no mapping


# --- coverage -------------------------------------------------------------------------------


def test_types_without_security_properties_are_mapped_not_unassessed() -> None:
    _, doc = scan_json(str(TERRAGOAT), "--checks", "NET-02")
    unassessed = {f["evidence"]["type"] for f in findings_of(doc) if f["check"] == "NOT-ASSESSED"}
    assert unassessed == {"aws_eks_cluster"}  # routes, the gateway, the ELB: mapped
    got = inventory(TERRAGOAT)
    elb = got["aws_elb.weblb"]
    assert elb.kind is Kind.LOAD_BALANCER and elb.properties["public_endpoint"] is True
    listener = got["aws_elb.weblb/listener/0"]
    assert (listener.properties["protocol"], listener.properties["port"]) == ("http", 80)


def test_more_types_of_real_plans_map_to_the_model(tmp_path: Path) -> None:
    azure = {"azurerm": {"name": "azurerm", "expressions": {}}}
    rs = [
        res("aws_cloudfront_distribution.cdn", {
            "enabled": True, "web_acl_id": "",
            "viewer_certificate": [{"cloudfront_default_certificate": True}],
            "default_cache_behavior": [{"viewer_protocol_policy": "allow-all"}],
            "ordered_cache_behavior": []}),
        res("aws_neptune_cluster.g", {"cluster_identifier": "g", "engine": "neptune",
                                      "storage_encrypted": False,
                                      "backup_retention_period": 1},
            unknown={"port": True}, expressions={"cluster_identifier": const("g")}),
        res("aws_neptune_cluster_snapshot.s", {"db_cluster_identifier": "g",
                                               "db_cluster_snapshot_identifier": "s"},
            unknown={"storage_encrypted": True}),
        res("azurerm_windows_virtual_machine.w", {"name": "w", "location": "westeurope"},
            unknown={"network_interface_ids": True},
            expressions={"network_interface_ids": ref("azurerm_network_interface.n.id")}),
        res("azurerm_network_interface.n", {"name": "n", "location": "westeurope",
                                            "ip_configuration": [{"name": "i"}]}),
        res("azurerm_sql_server.legacy", {"name": "legacy", "location": "westeurope",
                                          "resource_group_name": "rg"}),
        res("azurerm_sql_firewall_rule.all", {"name": "all", "server_name": "legacy",
                                              "start_ip_address": "0.0.0.0",
                                              "end_ip_address": "255.255.255.255"}),
        res("azurerm_resource_group.rg", {"name": "rg", "location": "westeurope"}),
    ]
    doc = plan(rs, provider_config={**AWS, **azure}, timestamp=STAMP)
    got = inventory(write(tmp_path, doc))
    cdn = got["aws_cloudfront_distribution.cdn"]
    assert cdn.kind is Kind.CDN
    assert (cdn.properties["min_tls"], cdn.properties["https_only"],
            cdn.properties["waf"]) == ("1.0", False, False)
    neptune = got["aws_neptune_cluster.g"]
    assert neptune.kind is Kind.DATABASE and neptune.properties["encrypted"] is False
    ports = {str(r.ports) for r in neptune.properties["ingress"][0].rules}
    assert ports == {"8182"}  # the engine's port, not every port
    assert got["aws_neptune_cluster_snapshot.s"].properties["encrypted"] is False  # its source's
    win = got["azurerm_windows_virtual_machine.w"]
    assert win.kind is Kind.COMPUTE and "ssh_key_only" not in win.properties
    sql = got["azurerm_sql_server.legacy"]
    assert sql.kind is Kind.DATABASE
    assert sql.properties["min_tls"] is None  # the deprecated resource has no default
    rules = sql.properties["ingress"][0].rules
    assert rules and "0.0.0.0/0" in rules[0].sources
    assert "azurerm_resource_group.rg" not in got  # mapped without checks: no model resource


def test_the_coverage_benchmark_prints_the_mapped_share(capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import bench_plan_coverage
    finally:
        sys.path.remove(str(ROOT / "bench"))
    assert bench_plan_coverage.main([str(DATA)]) == 0
    out = capsys.readouterr().out
    assert f"files: {len(list(DATA.glob('*.json')))} recognised, 0 refused" in out
    assert "mapped share, aws/azurerm/hcloud instances:" in out


def test_a_scale_set_is_judged_not_passed_unassessed(tmp_path: Path) -> None:
    azure = {"azurerm": {"name": "azurerm", "expressions": {}}}
    nsg_rule = {"name": "ssh", "priority": 100, "direction": "Inbound", "access": "Allow",
                "protocol": "Tcp", "source_address_prefix": "*", "source_port_range": "*",
                "destination_port_range": "22", "destination_address_prefix": "*"}

    def scale_set(public: bool) -> dict[str, Any]:
        cfg: dict[str, Any] = {"name": "internal", "primary": True, "subnet_id": None,
                               "public_ip_address": [{"name": "pip"}] if public else []}
        return plan([
            res("azurerm_network_security_group.web", {"name": "web", "location": "westeurope",
                                                       "security_rule": [nsg_rule]}),
            res("azurerm_linux_virtual_machine_scale_set.web", {
                "name": "web", "location": "westeurope",
                "disable_password_authentication": True,
                "network_interface": [{"name": "nic", "primary": True,
                                       "network_security_group_id": None,
                                       "ip_configuration": [cfg]}]},
                unknown={"network_interface": [{"network_security_group_id": True,
                                                "ip_configuration": [{"subnet_id": True}]}]},
                expressions={"name": const("web"), "network_interface": [{
                    "network_security_group_id": ref(
                        "azurerm_network_security_group.web.id")}]}),
        ], provider_config=azure, timestamp=STAMP)

    _, out = scan_json(str(write(tmp_path, scale_set(True), "pub.json")), "--checks",
                       "NET-02,IAM-03")
    got = verdicts(out)
    assert got[("NET-02", "azurerm_linux_virtual_machine_scale_set.web")] == "fail"
    assert got[("IAM-03", "azurerm_linux_virtual_machine_scale_set.web")] == "pass"
    assert not [f for f in findings_of(out) if f["check"] == "NOT-ASSESSED"]
    _, out = scan_json(str(write(tmp_path, scale_set(False), "priv.json")), "--checks",
                       "NET-02")
    assert verdicts(out).get(("NET-02", "azurerm_linux_virtual_machine_scale_set.web")) != "fail"


def test_an_autoscaling_group_is_judged_from_its_launch_template(tmp_path: Path) -> None:
    ssh = {"cidr_blocks": ["0.0.0.0/0"], "from_port": 22, "to_port": 22, "protocol": "tcp",
           "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [], "self": False}
    rs = [
        res("aws_security_group.web", {"name": "web", "ingress": [ssh]}, unknown={"id": True}),
        res("aws_subnet.pub", {"cidr_block": "10.0.1.0/24", "map_public_ip_on_launch": True},
            unknown={"id": True}),
        res("aws_launch_template.web", {
            "name": "web", "image_id": "ami-1", "key_name": "ops",
            "vpc_security_group_ids": None,
            "block_device_mappings": [{"device_name": "/dev/xvda",
                                       "ebs": [{"encrypted": "true", "volume_size": 8}]}]},
            unknown={"id": True, "vpc_security_group_ids": True},
            expressions={"vpc_security_group_ids": ref("aws_security_group.web.id")}),
        res("aws_autoscaling_group.web", {"name": "web", "max_size": 3, "min_size": 1,
                                          "launch_template": [{"version": "$Latest"}]},
            unknown={"launch_template": [{"id": True}], "vpc_zone_identifier": True},
            expressions={"launch_template": [{"id": ref("aws_launch_template.web.id")}],
                         "vpc_zone_identifier": ref("aws_subnet.pub.id")}),
    ]
    path = write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP))
    _, out = scan_json(str(path), "--checks", "NET-02,NET-03,IAM-03,ENC-01")
    got = verdicts(out)
    assert got[("NET-02", "aws_autoscaling_group.web")] == "fail"
    assert got[("NET-03", "aws_autoscaling_group.web")] == "fail"
    assert got[("IAM-03", "aws_autoscaling_group.web")] == "pass"
    assert got[("ENC-01", "aws_autoscaling_group.web/volume/0")] == "pass"


def test_rules_without_machines_are_judged_by_net07(tmp_path: Path) -> None:
    from scanner.registry import load_checks

    if "NET-07" not in load_checks([]):
        pytest.skip("NET-07 (the rule-level network check) is not on this branch yet")
    azure = {"azurerm": {"name": "azurerm", "expressions": {}}}
    rs = [
        res("aws_security_group.ops", {"name": "ops"}, unknown={"ingress": True, "id": True},
            expressions={"name": const("ops")}),
        res("aws_security_group_rule.ssh", {"type": "ingress", "from_port": 22, "to_port": 22,
                                            "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]},
            unknown={"security_group_id": True},
            expressions={"security_group_id": ref("aws_security_group.ops.id")}),
        res("aws_security_group.db", {"name": "db"}, unknown={"ingress": True, "id": True},
            expressions={"name": const("db")}),
        res("aws_vpc_security_group_ingress_rule.pg", {
            "from_port": 5432, "to_port": 5432, "ip_protocol": "tcp", "cidr_ipv6": "::/0"},
            unknown={"security_group_id": True},
            expressions={"security_group_id": ref("aws_security_group.db.id")}),
        res("aws_network_acl.closed", {"ingress": [
            {"action": "deny", "rule_no": 10, "protocol": "tcp", "from_port": 22, "to_port": 22,
             "cidr_block": "0.0.0.0/0", "ipv6_cidr_block": "", "icmp_code": 0,
             "icmp_type": 0},
            {"action": "allow", "rule_no": 100, "protocol": "-1", "from_port": 0,
             "to_port": 0, "cidr_block": "0.0.0.0/0", "ipv6_cidr_block": "", "icmp_code": 0,
             "icmp_type": 0}]}),
        res("azurerm_network_security_group.web", {"name": "web", "location": "westeurope",
                                                   "resource_group_name": "rg"}),
        res("azurerm_network_security_rule.rdp", {
            "name": "rdp", "priority": 200, "direction": "Inbound", "access": "Allow",
            "protocol": "Tcp", "source_address_prefix": "*", "source_port_range": "*",
            "destination_port_range": "3389", "destination_address_prefix": "*",
            "resource_group_name": "rg", "network_security_group_name": "web"},
            expressions={"network_security_group_name": ref(
                "azurerm_network_security_group.web.name")}),
        res("hcloud_firewall.fw", {"name": "fw", "rule": [
            {"direction": "in", "protocol": "tcp", "port": "22",
             "source_ips": ["0.0.0.0/0", "::/0"]}]}),
    ]
    path = write(tmp_path, plan(rs, provider_config={**AWS, **azure}, timestamp=STAMP))
    code, doc = scan_json(str(path), "--checks", "NET-07")
    got = {k: v for k, v in verdicts(doc).items() if k[0] == "NET-07"}
    assert got == {("NET-07", "aws_security_group.ops"): "fail",
                   ("NET-07", "aws_security_group.db"): "fail",
                   ("NET-07", "aws_network_acl.closed"): "fail",  # all ports but 22 from all
                   ("NET-07", "azurerm_network_security_group.web"): "fail",
                   ("NET-07", "hcloud_firewall.fw"): "fail"}
    assert code == 1  # before: exit 0, no finding


def test_unknown_inline_rules_hidden_by_a_dynamic_block_stay_unknown(tmp_path: Path) -> None:
    # The configuration's JSON leaves `dynamic "ingress"` blocks out: an unknown rule list is
    # "provider computed" only when separate rule resources hold the group's rules.
    rs = [res("aws_security_group.dyn", {"name": "dyn"}, unknown={"ingress": True},
              expressions={"name": const("dyn")}),
          res("aws_security_group.sep", {"name": "sep"}, unknown={"ingress": True},
              expressions={"name": const("sep")}),
          res("aws_vpc_security_group_ingress_rule.https", {
              "from_port": 443, "to_port": 443, "ip_protocol": "tcp", "cidr_ipv4": "0.0.0.0/0"},
              unknown={"security_group_id": True},
              expressions={"security_group_id": ref("aws_security_group.sep.id")})]
    got = inventory(write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP)))
    assert ("allow", "*", "all", ("0.0.0.0/0", "::/0")) in _rules(got["aws_security_group.dyn"])
    assert got["aws_security_group.dyn"].properties["iac"]["unknown"]["firewall_rules"] == []
    assert _rules(got["aws_security_group.sep"]) == {("allow", "tcp", "443", ("0.0.0.0/0",))}


def test_a_servers_computed_firewall_ids_add_no_firewall(tmp_path: Path) -> None:
    hcloud = {"hcloud": {"name": "hcloud", "expressions": {}}}
    rs = [res("hcloud_firewall.web", {"name": "web", "rule": [
              {"direction": "in", "protocol": "tcp", "port": "443",
               "source_ips": ["0.0.0.0/0", "::/0"]}]}, unknown={"id": True}),
          res("hcloud_server.web", {"name": "web", "location": "nbg1", "server_type": "cx22",
                                    "image": "debian-12", "public_net": [
                                        {"ipv4_enabled": True, "ipv6_enabled": False}]},
              unknown={"firewall_ids": True, "id": True, "ipv4_address": True},
              expressions={"name": const("web"), "image": const("debian-12")}),
          res("hcloud_firewall_attachment.web", {"server_ids": [], "label_selectors": []},
              unknown={"firewall_id": True, "server_ids": True},
              expressions={"firewall_id": ref("hcloud_firewall.web.id"),
                           "server_ids": ref("hcloud_server.web.id")})]
    _, out = scan_json(str(write(tmp_path, plan(rs, provider_config=hcloud,
                                                timestamp=STAMP))), "--checks", "NET-02")
    assert verdicts(out)[("NET-02", "hcloud_server.web")] == "pass"  # not "error"


def test_an_efs_file_system_not_asking_for_encryption_is_unencrypted(tmp_path: Path) -> None:
    rs = [res("aws_efs_file_system.plain", {"creation_token": "plain"},
              unknown={"encrypted": True}, expressions={"creation_token": const("plain")}),
          res("aws_efs_file_system.enc", {"creation_token": "enc", "encrypted": True},
              expressions={"encrypted": const(True)})]
    _, out = scan_json(str(write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP))),
                       "--checks", "ENC-01")
    got = verdicts(out)
    assert got[("ENC-01", "aws_efs_file_system.plain")] == "fail"
    assert got[("ENC-01", "aws_efs_file_system.enc")] == "pass"
