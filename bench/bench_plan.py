"""Benchmark: judge a generated Terraform plan of 10,000 resources (target: under 5 s).

    python bench/bench_plan.py [--resources 10000] [--out bench/out/plan-10k.json]
                               [--checkov /tmp/checkov-venv/bin/checkov]

Writes a plan in Terraform's JSON format (hcloud servers with firewalls and volumes, AWS
security groups, instances, RDS instances and S3 buckets in two regions, azurerm storage
accounts and NSGs; some values unknown until apply, a module with for_each), then times
`posture scan PLAN --format json` end to end (process start included) and, when a checkov
executable is given, `checkov -f PLAN --framework terraform_plan` on the same file, and
prints both and their ratio. Results go to bench/out/results.json under "plan".
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from fixtures.terraform.build_plans import const, plan, ref, res  # noqa: E402


def generate(n: int) -> dict[str, Any]:
    resources: list[dict[str, Any]] = []
    i = 0
    while len(resources) < n:
        k = i % 10
        tag = {"owner": "team", "environment": "prod" if i % 3 else "dev",
               "data-classification": "internal"}
        if k < 3:  # hcloud: server + firewall + volume
            resources += [
                res(f"hcloud_firewall.fw{i}", {"name": f"fw-{i}", "labels": tag, "apply_to": [],
                                               "rule": [{"direction": "in", "protocol": "tcp",
                                                         "port": "22" if i % 4 == 0 else "443",
                                                         "source_ips": ["0.0.0.0/0"],
                                                         "destination_ips": []}]},
                    unknown={"id": True}),
                res(f"hcloud_server.s{i}", {"name": f"db-{i}" if i % 5 == 0 else f"app-{i}",
                                            "server_type": "cx22", "image": "debian-12",
                                            "location": "fsn1" if i % 7 else "ash",
                                            "labels": tag, "backups": i % 2 == 0},
                    unknown={"id": True, "ipv4_address": True, "ipv6_network": True,
                             "firewall_ids": True},
                    expressions={"firewall_ids": ref(f"hcloud_firewall.fw{i}.id")}),
                res(f"hcloud_volume.v{i}", {"name": f"vol-{i}", "size": 10, "labels": tag,
                                            "location": "fsn1"},
                    unknown={"id": True, "server_id": True},
                    expressions={"server_id": ref(f"hcloud_server.s{i}.id")}),
            ]
        elif k < 7:  # aws: security group + instance or database, bucket
            region_key = "aws" if i % 2 else "aws.us"
            ingress = [{"from_port": 5432, "to_port": 5432, "protocol": "tcp",
                        "cidr_blocks": ["0.0.0.0/0"] if i % 6 == 0 else ["10.0.0.0/8"],
                        "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [],
                        "self": False}]
            resources += [
                res(f"aws_security_group.sg{i}", {"name": f"sg-{i}", "ingress": ingress,
                                                  "tags": tag, "tags_all": tag},
                    unknown={"id": True, "arn": True}, provider_key=region_key,
                    expressions={"ingress": const(ingress)}),
                res(f"aws_db_instance.db{i}", {
                    "identifier": f"db-{i}", "engine": "postgres", "port": 5432,
                    "publicly_accessible": i % 8 == 0, "storage_encrypted": i % 3 != 0,
                    "backup_retention_period": 7 if i % 4 else 0, "tags": tag,
                    "tags_all": tag},
                    unknown={"id": True, "arn": True, "vpc_security_group_ids": True},
                    provider_key=region_key,
                    expressions={"vpc_security_group_ids": ref(f"aws_security_group.sg{i}.id")})
                if i % 2 else
                res(f"aws_instance.vm{i}", {
                    "ami": "ami-0abc", "instance_type": "t3.micro",
                    **({"associate_public_ip_address": i % 4 == 0} if i % 3 else {}),
                    "key_name": "ops",
                    "tags": {**tag, "Name": f"vm-{i}"}, "tags_all": {**tag, "Name": f"vm-{i}"},
                    "root_block_device": [{"encrypted": True, "volume_size": 8}]},
                    unknown={"id": True, "arn": True, "vpc_security_group_ids": True,
                             "public_ip": True,
                             **({} if i % 3 else {"associate_public_ip_address": True})},
                    provider_key=region_key,
                    expressions={"vpc_security_group_ids": ref(f"aws_security_group.sg{i}.id")}),
                res(f"aws_s3_bucket.b{i}", {"bucket": f"bucket-{i}", "tags": tag,
                                            "tags_all": tag},
                    unknown={"id": True, "arn": True}, provider_key=region_key),
            ]
        else:  # azurerm: storage account, NSG
            resources += [
                res(f"azurerm_storage_account.st{i}", {
                    "name": f"st{i}", "location": "westeurope", "account_tier": "Standard",
                    "account_replication_type": "GRS" if i % 2 else "LRS",
                    "min_tls_version": "TLS1_2" if i % 5 else "TLS1_0", "tags": tag},
                    unknown={"id": True}),
                res(f"azurerm_network_security_group.nsg{i}", {
                    "name": f"nsg-{i}", "location": "westeurope", "tags": tag,
                    "security_rule": [{"name": "ssh", "priority": 100,
                                       "direction": "Inbound", "access": "Allow",
                                       "protocol": "Tcp", "destination_port_range": "22",
                                       "source_address_prefix": "*",
                                       "destination_address_prefix": "*"}]},
                    unknown={"id": True}),
            ]
        i += 1
    resources = resources[:n]
    return plan(resources, provider_config={
        "aws": {"name": "aws", "expressions": {"region": const("eu-central-1")}},
        "aws.us": {"name": "aws", "alias": "us", "expressions": {"region": const("us-east-1")}},
        "hcloud": {"name": "hcloud"}, "azurerm": {"name": "azurerm"}},
        timestamp="2026-11-20T02:00:00Z")


def timed(cmd: list[str]) -> tuple[float, float, subprocess.CompletedProcess[bytes]]:
    """(wall seconds, CPU seconds of the child, result): on a shared machine the CPU time
    is the steadier figure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=HERE / "out" / "plan-10k.json")
    parser.add_argument("--checkov", help="checkov executable to compare with")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(generate(args.resources)))
    posture = str(Path(sys.executable).with_name("posture"))
    result: dict[str, Any] = {"resources_in_plan": args.resources, "target_seconds": 5.0}
    for fmt in ("table", "sarif", "json"):
        runs = []
        for _ in range(args.repeat):
            wall, cpu, done = timed([posture, "-q", "scan", str(args.out), "--format", fmt,
                                     "--no-timestamps", "--fail-on", "none", "--allow-partial"])
            if done.returncode != 0:
                sys.exit(f"posture failed ({done.returncode}): {done.stderr.decode()[:500]}")
            runs.append((wall, cpu))
        result[f"posture_{fmt}"] = {"wall_seconds": round(min(w for w, _ in runs), 2),
                                    "cpu_seconds": round(min(c for _, c in runs), 2)}
        if fmt == "json":
            doc = json.loads(done.stdout)
            result["model_resources"] = doc["summary"]["resources"]
            result["findings"] = doc["summary"]["findings"]
            result["by_status"] = doc["summary"]["by_status"]
    if args.checkov:
        cruns = []
        for _ in range(args.repeat):
            wall, cpu, done = timed([args.checkov, "-f", str(args.out), "--framework",
                                     "terraform_plan", "--quiet", "--compact", "-o", "json"])
            cruns.append((wall, cpu))
        result["checkov"] = {"wall_seconds": round(min(w for w, _ in cruns), 2),
                             "cpu_seconds": round(min(c for _, c in cruns), 2),
                             "exit": done.returncode}
        ours = result["posture_json"]
        result["ratio_checkov_over_posture_json"] = {
            "wall": round(result["checkov"]["wall_seconds"] / ours["wall_seconds"], 2),
            "cpu": round(result["checkov"]["cpu_seconds"] / ours["cpu_seconds"], 2)}
    print(json.dumps(result, indent=2))
    store = HERE / "out" / "results.json"
    try:
        all_results = json.loads(store.read_text())
    except (OSError, ValueError):
        all_results = {}
    all_results["plan"] = result
    store.write_text(json.dumps(all_results, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
