"""AWS collection benchmark: serial versus concurrent, against a moto server.

    python bench/bench_aws_collect.py                   # ~1,000 resources, 3 regions
    python bench/bench_aws_collect.py --latency-ms 40   # add a round trip per API call
    python bench/bench_aws_collect.py --plans BASE_SRC --instances 550 --buckets 133 \
        --latency-ms 40     # ~4k resources: calls and wall time of `posture scan aws` per
                            # check selection, this tree against BASE_SRC, interleaved

Builds an emulated account in moto (`moto.server.ThreadedMotoServer` on 127.0.0.1): in each
of eu-central-1, eu-west-1 and eu-north-1 a VPC with subnets, security groups, EC2
instances (each with its root EBS volume), KMS keys and S3 buckets, plus IAM users. Then it
runs the real collector (`providers.aws.collect.collect`, every collection) through the
test proxy of tests/aws_proxy.py, which can add a fixed delay to every request to stand in
for the network round trip to AWS, once with a pool of 1 worker (serial) and once with the
default pool, and reports API calls made, wall time and the ratio. Results: a table on stdout
and bench/out/aws_collect.json.

With `--plans BASE_SRC` (a checkout of an earlier posture, e.g. `git archive main | tar -x
-C /tmp/base`) it instead runs the real CLI, `posture scan aws` with the default profile
and with `--checks ENC-03,LOG-01`, once from BASE_SRC and once from this tree, interleaved,
and reports the API calls the proxy saw, by operation, and the wall time of each; the
findings of both must be equal (evidence that counts from the scan time aside). The estate
then also holds a trail writing to one of the buckets.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from providers.aws import collect as aws  # noqa: E402
from providers.aws.normalize import normalize  # noqa: E402
from tests.aws_estate import AMI, client  # noqa: E402
from tests.aws_proxy import AwsProxy, start_moto  # noqa: E402
from tests.helpers import findings_of  # noqa: E402  (results format 1 or 2)

REGIONS = ("eu-central-1", "eu-west-1", "eu-north-1")


def build(url: str, instances: int, groups: int, keys: int, buckets: int, users: int) -> None:
    for region in REGIONS:
        ec2 = client(url, "ec2", region)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24")["Subnet"]["SubnetId"]
                   for i in range(4)]
        sgs = []
        for i in range(groups):
            gid = ec2.create_security_group(GroupName=f"sg-{i}", Description="bench",
                                            VpcId=vpc)["GroupId"]
            ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[{
                "IpProtocol": "tcp", "FromPort": 1000 + i, "ToPort": 1000 + i,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
            sgs.append(gid)
        for i in range(0, instances, 10):  # reservations of 10
            ec2.run_instances(ImageId=AMI, MinCount=10, MaxCount=10, InstanceType="t3.micro",
                              SubnetId=subnets[(i // 10) % 4],
                              SecurityGroupIds=[sgs[i % groups]])
        kms = client(url, "kms", region)
        for i in range(keys):
            kms.create_key(Description=f"bench-{i}")
        s3 = client(url, "s3", region)
        for i in range(buckets):
            s3.create_bucket(Bucket=f"bench-{region}-{i}",
                             CreateBucketConfiguration={"LocationConstraint": region})
    s3 = client(url, "s3", REGIONS[0])
    trail_bucket = f"bench-{REGIONS[0]}-0"
    s3.put_bucket_lifecycle_configuration(Bucket=trail_bucket, LifecycleConfiguration={
        "Rules": [{"ID": "expire", "Status": "Enabled", "Filter": {"Prefix": "AWSLogs/"},
                   "Expiration": {"Days": 400}}]})
    client(url, "cloudtrail", REGIONS[0]).create_trail(
        Name="bench-trail", S3BucketName=trail_bucket, IsMultiRegionTrail=True)
    iam = client(url, "iam", "us-east-1")
    for i in range(users):
        iam.create_user(UserName=f"user-{i}")
        iam.create_access_key(UserName=f"user-{i}")


def run(workers: int, proxy: AwsProxy) -> dict[str, Any]:
    proxy.calls.clear()
    stats = aws.Stats()
    started = time.perf_counter()
    sections = aws.collect({"regions": ",".join(REGIONS), "aws_workers": workers}, stats=stats)
    wall = time.perf_counter() - started
    inv = normalize(sections[0])
    kinds = Counter(str(r.kind) for r in inv.resources)
    return {"workers": workers, "wall_seconds": round(wall, 2), "api_calls": stats.total,
            "http_requests": len(proxy.calls), "errors": len(sections[0].errors),
            "resources": len(inv.resources), "by_kind": dict(sorted(kinds.items()))}


SELECTIONS = (("default profile", ()), ("--checks ENC-03,LOG-01", ("--checks", "ENC-03,LOG-01")))
VOLATILE = ("as_of", "days_left")  # evidence counted from the scan's own time


def cli_scan(src: Path, args: tuple[str, ...], proxy: AwsProxy, out: Path) -> dict[str, Any]:
    """`posture scan aws` from the tree `src` in a child process; the proxy counts calls."""
    proxy.calls.clear()
    started = time.perf_counter()
    code = subprocess.call(
        [sys.executable, "-c", "from scanner.cli import main; main()", "scan", "aws",
         "--regions", ",".join(REGIONS), *args, "--format", "json", "--no-timestamps",
         "-o", str(out)], env={**os.environ, "PYTHONPATH": str(src)}, cwd=src,
        stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    ops = Counter(c.operation for c in proxy.calls if c.service != "sts")
    doc = json.loads(out.read_text())
    findings = sorted(json.dumps({**f, "evidence": {k: v for k, v in f["evidence"].items()
                                                    if k not in VOLATILE}}, sort_keys=True)
                      for f in findings_of(doc))
    return {"exit": code, "wall_seconds": round(wall, 2), "api_calls": sum(ops.values()),
            "by_operation": dict(sorted(ops.items())), "findings": len(findings),
            "_findings": findings}


def compare_plans(base: Path, proxy: AwsProxy, latency_ms: float) -> None:
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    rows: list[dict[str, Any]] = []
    for label, args in SELECTIONS:
        before = cli_scan(base, args, proxy, out / "plans-before.json")
        after = cli_scan(ROOT, args, proxy, out / "plans-after.json")
        same = before.pop("_findings") == after.pop("_findings")
        rows.append({"selection": label, "before": before, "after": after,
                     "same_findings": same})
    load = os.getloadavg()
    print(f"+{latency_ms:g} ms per request; load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f}")
    print(f"{'selection':<24} {'calls before':>12} {'calls after':>11} {'wall before':>11} "
          f"{'wall after':>10} {'calls':>6} {'wall':>6} same findings")
    for r in rows:
        b, a = r["before"], r["after"]
        print(f"{r['selection']:<24} {b['api_calls']:>12} {a['api_calls']:>11} "
              f"{b['wall_seconds']:>11} {a['wall_seconds']:>10} "
              f"{a['api_calls'] / max(b['api_calls'], 1):>6.2f} "
              f"{a['wall_seconds'] / max(b['wall_seconds'], 1e-9):>6.2f} {r['same_findings']}")
        gone = {op: n for op, n in b["by_operation"].items()
                if a["by_operation"].get(op, 0) != n}
        for op, n in sorted(gone.items()):
            print(f"    {op}: {n} -> {a['by_operation'].get(op, 0)}")
    (out / "aws_plans.json").write_text(json.dumps({
        "latency_ms": latency_ms, "load_average": load, "rows": rows}, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="delay added to every API request (stands in for the RTT)")
    parser.add_argument("--workers", type=int, default=aws.DEFAULT_WORKERS)
    parser.add_argument("--instances", type=int, default=100, help="per region")
    parser.add_argument("--buckets", type=int, default=20, help="per region")
    parser.add_argument("--plans", type=Path, metavar="BASE_SRC",
                        help="compare `posture scan aws` per check selection with BASE_SRC")
    args = parser.parse_args()
    moto, url = start_moto()
    build(url, instances=args.instances, groups=20, keys=20, buckets=args.buckets, users=30)
    proxy = AwsProxy(moto, url, latency=args.latency_ms / 1000).start()
    os.environ.update(AWS_ENDPOINT_URL=proxy.url, AWS_ACCESS_KEY_ID="bench",
                      AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION=REGIONS[0],
                      AWS_EC2_METADATA_DISABLED="true")
    if args.plans is not None:
        try:
            compare_plans(args.plans.resolve(), proxy, args.latency_ms)
        finally:
            proxy.stop()
            moto.stop()
        return
    try:
        serial = run(1, proxy)
        concurrent = run(args.workers, proxy)
    finally:
        proxy.stop()
        moto.stop()
    ratio = round(serial["wall_seconds"] / max(concurrent["wall_seconds"], 1e-9), 2)
    print(f"emulated account: {serial['resources']} resources over {len(REGIONS)} regions "
          f"(moto adds its own public-AMI snapshots), +{args.latency_ms:g} ms per request")
    print(f"{'pool':>6} {'API calls':>10} {'wall s':>8} {'errors':>7}")
    for r in (serial, concurrent):
        print(f"{r['workers']:>6} {r['api_calls']:>10} {r['wall_seconds']:>8} {r['errors']:>7}")
    print(f"serial / concurrent wall time: {ratio}x")
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "aws_collect.json").write_text(json.dumps({
        "latency_ms": args.latency_ms, "regions": list(REGIONS), "serial": serial,
        "concurrent": concurrent, "ratio": ratio}, indent=1) + "\n")


if __name__ == "__main__":
    main()
