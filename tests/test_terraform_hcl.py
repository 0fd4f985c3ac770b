"""Plain Terraform configuration without a plan: best effort, and whatever goes through a
variable or an expression is unknown, so its verdicts are error, never pass."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import ROOT, findings_of, run, scan_json

TF_AWS = ROOT / "fixtures" / "terraform" / "tf-aws"


def verdicts(doc: dict[str, object]) -> dict[tuple[str, str], str]:
    return {(f["check"], f["resource"].split("/", 1)[1]): f["status"]  # type: ignore[index]
            for f in findings_of(doc)  # type: ignore[attr-defined]
            if not str(f["resource"]).startswith("terraform:")}  # type: ignore[index]


def test_a_folder_of_tf_files_is_judged_like_its_plan() -> None:
    checks = "NET-02,NET-03,NET-04,IAM-03,RES-01"
    code, from_tf = scan_json(str(TF_AWS), "--checks", checks)
    _, from_plan = scan_json(str(ROOT / "fixtures" / "terraform" / "aws-modules.plan.json"),
                             "--checks", checks)
    plan_root = {k: v for k, v in verdicts(from_plan).items()
                 if k[1].startswith(("aws_instance.", "aws_lb."))}
    tf = verdicts(from_tf)

    def instances(got: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
        return {k: v for k, v in got.items() if k[1] in ("aws_instance.web",
                                                         "aws_instance.worker")}

    assert instances(tf) == instances(plan_root)
    assert len(instances(tf)) == 10
    skipped = [f for f in findings_of(from_tf) if f["check"] == "NOT-ASSESSED"]
    assert [f["evidence"]["ids"] for f in skipped] == [["module.dr", "module.net"]]
    assert from_tf["sources"][0]["type"] == "terraform-configuration"
    assert code == 1


def test_values_through_variables_are_unknown_and_never_pass(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('''
provider "aws" {
  region = var.region
}

variable "public" {
  default = false
}

resource "aws_security_group" "db" {
  name = "db"
  ingress {
    from_port   = 5432
    to_port     = 5432
    protocol    = "tcp"
    cidr_blocks = [var.office_cidr]
  }
}

resource "aws_db_instance" "db" {
  identifier             = "db-main"
  engine                 = "postgres"
  publicly_accessible    = var.public
  storage_encrypted      = local.encrypt
  backup_retention_period = 7
  vpc_security_group_ids = [aws_security_group.db.id]
}
''')
    code, doc = scan_json(str(tmp_path), "--checks", "NET-01,NET-02,ENC-01,RES-01,BAK-02")
    got = verdicts(doc)
    assert got == {
        ("NET-01", "aws_db_instance.db"): "error",  # public or not: a variable
        ("NET-02", "aws_db_instance.db"): "error",
        ("ENC-01", "aws_db_instance.db"): "error",  # a local
        ("RES-01", "aws_db_instance.db"): "error",  # the provider's region: a variable
        ("BAK-02", "aws_db_instance.db"): "pass",  # written as a literal
    }
    assert code == 3  # incomplete: errors, no failure


def test_plain_tf_findings_point_at_their_block(tmp_path: Path) -> None:
    (tmp_path / "net.tf").write_text('''# firewall

resource "hcloud_firewall" "ssh" {
  name = "ssh"
  rule {
    direction  = "in"
    protocol   = "tcp"
    port       = "22"
    source_ips = ["0.0.0.0/0"]
  }
}

resource "hcloud_server" "db" {
  name         = "db-1"
  image        = "debian-12"
  server_type  = "cx22"
  location     = "fsn1"
  firewall_ids = [hcloud_firewall.ssh.id]
}
''')
    out = run("scan", str(tmp_path), "--checks", "NET-01,NET-02", "--format", "sarif")
    results = json.loads(out.stdout)["runs"][0]["results"]
    locations = {r["ruleId"]: r["locations"][0]["physicalLocation"] for r in results}
    assert locations["NET-01"]["artifactLocation"]["uri"].endswith("net.tf")
    assert locations["NET-01"]["region"]["startLine"] == 13
    assert out.exit_code == 1


def test_invalid_hcl_is_named(tmp_path: Path) -> None:
    (tmp_path / "bad.tf").write_text('resource "aws_instance" "x" {\n  ami = \n')
    result = run("scan", str(tmp_path))
    assert result.exit_code == 2
    assert "not valid HCL" in result.stderr and "Traceback" not in result.stderr
