"""An ALB listener's rules (aws_lb_listener_rule) are read as live: a plain-HTTP listener
whose default action redirects to HTTPS but whose rule forwards requests is not
redirect-only (TLS-02 fails, as the live reading of DescribeRules does); a rule whose action
is known only after apply may forward (error); the groups rules forward to are reached
through the listener on their own ports (NET-02)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fixtures.terraform.build_plans import plan, ref, res
from tests.helpers import PLAN_AWS as AWS
from tests.helpers import PLAN_STAMP as STAMP
from tests.helpers import findings_of, scan_json
from tests.helpers import write_plan as write

REDIRECT = {"type": "redirect", "order": 1, "redirect": [{
    "protocol": "HTTPS", "port": "443", "status_code": "HTTP_301", "host": "#{host}",
    "path": "/#{path}", "query": "#{query}"}]}


def verdicts(path: Path, checks: str) -> tuple[int, dict[tuple[str, str], str]]:
    code, doc = scan_json(str(path), "--checks", checks)
    return code, {(f["check"], str(f["resource"]).split("/", 1)[-1]): f["status"]
                  for f in findings_of(doc)}


def http_listener(name: str) -> dict[str, Any]:
    return res(f"aws_lb_listener.{name}", {"port": 80, "protocol": "HTTP",
                                           "default_action": [REDIRECT]},
               unknown={"id": True, "arn": True, "load_balancer_arn": True},
               expressions={"load_balancer_arn": ref(f"aws_lb.{name}.arn")})


def lb(name: str) -> dict[str, Any]:
    return res(f"aws_lb.{name}", {"name": name, "internal": False,
                                  "load_balancer_type": "application", "security_groups": []},
               unknown={"id": True, "arn": True})


def group(name: str, port: int) -> dict[str, Any]:
    return res(f"aws_lb_target_group.{name}", {"name": name, "port": port,
                                               "protocol": "HTTP"},
               unknown={"id": True, "arn": True})


def rule(name: str, listener: str, action: dict[str, Any], unknown: dict[str, Any],
         expressions: dict[str, Any]) -> dict[str, Any]:
    return res(f"aws_lb_listener_rule.{name}", {
        "priority": 10, "action": [action],
        "condition": [{"path_pattern": [{"values": ["/legacy/*"]}]}]},
        unknown={"id": True, "arn": True, "listener_arn": True, **unknown},
        expressions={"listener_arn": ref(f"aws_lb_listener.{listener}.arn"), **expressions})


def test_a_redirecting_listener_whose_rule_forwards_plain_http_fails_tls02(
        tmp_path: Path) -> None:
    rs = [
        lb("clean"), http_listener("clean"),
        lb("leaky"), http_listener("leaky"), group("legacy", 8080),
        rule("leaky", "leaky", {"type": "forward", "order": 1, "target_group_arn": None},
             {"action": [{"target_group_arn": True}]},
             {"action": [{"target_group_arn": ref("aws_lb_target_group.legacy.arn")}]}),
        lb("unsure"), http_listener("unsure"),
        rule("unsure", "unsure", {"order": 1}, {"action": [{"type": True}]},
             {"action": [{"type": ref("var.action")}]}),
    ]
    code, got = verdicts(write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP)),
                         "TLS-02")
    assert got[("TLS-02", "aws_lb_listener.clean")] == "pass"
    # before: pass (the default redirect alone was read)
    assert got[("TLS-02", "aws_lb_listener.leaky")] == "fail"
    assert got[("TLS-02", "aws_lb_listener.unsure")] == "error"
    assert code == 1


def test_a_rule_forwarding_to_a_group_on_another_port_reaches_its_targets_there(
        tmp_path: Path) -> None:
    """An HTTPS listener forwards by default to the web group (port 443) and, by a rule,
    to the admin group on 22: SSH reaches the admin instance through the load balancer
    (NET-02 fail, as live), and only port 443 reaches the web instance."""
    open_sg = [{"protocol": "tcp", "from_port": 0, "to_port": 65535,
                "cidr_blocks": ["0.0.0.0/0"], "ipv6_cidr_blocks": [], "prefix_list_ids": [],
                "security_groups": [], "self": False, "description": ""}]

    def instance(name: str) -> list[dict[str, Any]]:
        return [
            res(f"aws_instance.{name}", {
                "ami": "ami-0abc", "instance_type": "t3.micro", "key_name": "ops",
                "associate_public_ip_address": False, "vpc_security_group_ids": [None]},
                unknown={"id": True, "private_ip": True, "vpc_security_group_ids": [True]},
                expressions={"vpc_security_group_ids": ref("aws_security_group.open.id"),
                             "associate_public_ip_address": {"constant_value": False}}),
            res(f"aws_lb_target_group_attachment.{name}", {},
                unknown={"id": True, "target_group_arn": True, "target_id": True},
                expressions={"target_group_arn": ref(f"aws_lb_target_group.{name}.arn"),
                             "target_id": ref(f"aws_instance.{name}.id")})]
    rs = [
        res("aws_security_group.open", {"name": "open", "ingress": open_sg},
            unknown={"id": True}),
        *instance("web"), *instance("admin"), group("web", 443), group("admin", 22),
        lb("edge"),
        res("aws_lb_listener.edge", {
            "port": 443, "protocol": "HTTPS",
            "ssl_policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
            "certificate_arn": "arn:aws:acm:eu-central-1:111122223333:certificate/abc",
            "default_action": [{"type": "forward", "order": 1, "target_group_arn": None}]},
            unknown={"id": True, "arn": True, "load_balancer_arn": True,
                     "default_action": [{"target_group_arn": True}]},
            expressions={"load_balancer_arn": ref("aws_lb.edge.arn"), "default_action": [{
                "target_group_arn": ref("aws_lb_target_group.web.arn")}]}),
        rule("admin", "edge", {"type": "forward", "order": 1, "target_group_arn": None},
             {"action": [{"target_group_arn": True}]},
             {"action": [{"target_group_arn": ref("aws_lb_target_group.admin.arn")}]}),
    ]
    code, got = verdicts(write(tmp_path, plan(rs, provider_config=AWS, timestamp=STAMP)),
                         "NET-02")
    # before: error (a listener rule's group: "its port not judged")
    assert got[("NET-02", "aws_instance.admin")] == "fail"
    assert got[("NET-02", "aws_instance.web")] == "pass"
    assert code == 1
