"""posture against Prowler on the same emulated AWS account, in one run.

    python bench/bench_prowler.py                         # 87-ish and 4k resources, +40 ms
    python bench/bench_prowler.py --sizes 4k --emulator both  # moto answering, then replayed
    python bench/bench_prowler.py --sizes 4k --rounds 2   # posture, Prowler, posture, ...
    python bench/bench_prowler.py --posture OTHER-VENV/bin/posture
    python bench/bench_prowler.py --no-prowler --sizes 30 # posture's half only

For each size, an account of about that many resources (bench/prowler_estate.py: EC2 with
security groups, VPCs, subnets, NACLs, EBS volumes and snapshots, KMS keys, S3 buckets with
encryption, policies, versioning and lifecycle rules, RDS, ALBs with listeners, a CloudTrail
trail, GuardDuty, IAM users) is built in a moto server (`ThreadedMotoServer` on 127.0.0.1)
across three regions. Both scanners then talk to it through the recording proxy of
tests/aws_proxy.py (`AWS_ENDPOINT_URL`, fake credentials, TCP_NODELAY), which adds
`--latency-ms` to every request (the round trip to a real AWS endpoint) and counts the
requests by AWS operation. How the emulated endpoint answers (`--emulator`):

- `replay` (the default): like an AWS endpoint, in the latency and nothing else. One
  unmeasured run of each scanner, without latency, lets moto answer and the proxy keep each
  answer by request (`tests.aws_proxy.replay_key`: method, host, path and query, body, SigV4
  service and region, answer-selecting headers; not signature, date, user agent); measured
  runs are answered from what was kept, after the latency. A request not seen in the
  warm-up goes to moto and is counted (`missed`, per run and per row).
- `moto`: moto answers every call of the measured runs (its CPU on this machine, serialised
  under one interpreter lock with the proxy, adds to both scanners' walls).
- `both`: the `moto` rounds, then the `replay` rounds on the answers they kept.

Runs alternate: posture, Prowler, posture, ... (`--rounds` Prowler runs, one more posture
run); one unmeasured posture run without latency comes first, so that moto's lazy
per-region set-up is paid by neither.

- posture: `POSTURE scan aws --regions R --checks C --format json` with the default
  profile, where C are the controls of CHECKS below.
- Prowler: the latest 5.x from PyPI, installed with pip in a throwaway venv
  (`--prowler-venv`, default /tmp/prowler-venv, reused if it holds Prowler; never a
  dependency of posture), `prowler aws --checks P -f R --output-formats json-ocsf`, where P
  are the Prowler checks CHECKS maps C to (each verified against `prowler aws
  --list-checks-json` first; a missing one stops the run).

Wall time is taken around each child process (interpreter start-up included). Results: the
table on stdout and bench/out/prowler.json (per-operation call counts included).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import prowler_estate  # noqa: E402
from tests.aws_proxy import AwsProxy, Call, ReplayCache, start_moto  # noqa: E402

REGIONS = prowler_estate.REGIONS

# posture's controls with an AWS equivalent in Prowler -> the Prowler checks that judge the
# same thing (resource and property). posture runs these controls (`--checks`), Prowler these
# checks (`--checks`). Left out: controls Prowler has no check for (RES-01/02/03 residency,
# NET-05 segmentation by environment tag, INV-01/02, IAM-03 SSH keys, BAK-01/03, LOG-02
# retention, TLS-04 probe) and Prowler checks of things posture does not judge.
CHECKS: dict[str, tuple[str, ...]] = {
    # databases not reachable from the internet
    "NET-01": ("rds_instance_no_public_access",),
    # administrative ports not reachable from the internet (SG + NACL)
    "NET-02": ("ec2_instance_port_ssh_exposed_to_internet",
               "ec2_instance_port_rdp_exposed_to_internet",
               "ec2_networkacl_allow_ingress_tcp_port_22",
               "ec2_networkacl_allow_ingress_tcp_port_3389"),
    # application servers without a public endpoint
    "NET-03": ("ec2_instance_public_ip",),
    # internet-facing machines behind a firewall that is not open on every port
    "NET-04": ("ec2_securitygroup_allow_ingress_from_internet_to_all_ports",),
    # no firewall rule admits administrative or database ports from the internet
    "NET-07": ("ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22",
               "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_3389",
               "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_mysql_3306",
               "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_postgres_5432",
               "ec2_securitygroup_allow_ingress_from_internet_to_high_risk_tcp_ports"),
    # WAF on public entry points
    "NET-06": ("elbv2_waf_acl_attached",),
    # TLS 1.2+ on external endpoints
    "TLS-01": ("elbv2_insecure_ssl_ciphers",),
    # no plaintext listener; S3 denies plain HTTP
    "TLS-02": ("elbv2_ssl_listeners", "s3_bucket_secure_transport_policy"),
    # certificates auto-renewed, not near expiry
    "TLS-03": ("acm_certificates_expiration_check",),
    # storage encrypted at rest
    "ENC-01": ("ec2_ebs_volume_encryption", "rds_instance_storage_encrypted",
               "s3_bucket_default_encryption"),
    # snapshots encrypted
    "ENC-02": ("ec2_ebs_snapshots_encrypted", "rds_snapshots_encrypted"),
    # customer-managed keys rotated
    "ENC-03": ("kms_cmk_rotation_enabled",),
    # backups of stateful resources
    "BAK-02": ("rds_instance_backup_enabled", "ec2_ebs_volume_protected_by_backup_plan"),
    # multi-region audit trail, logging, validated
    "LOG-01": ("cloudtrail_multi_region_enabled", "cloudtrail_log_file_validation_enabled"),
    # threat detection
    "LOG-03": ("guardduty_is_enabled",),
    # MFA on console accounts and root
    "IAM-01": ("iam_root_mfa_enabled", "iam_user_mfa_enabled_console_access"),
    # no wildcard admin grants
    "IAM-02": ("iam_customer_attached_policy_no_administrative_privileges",
               "iam_inline_policy_no_administrative_privileges"),
    # no dormant or unrotated credentials
    "IAM-04": ("iam_rotate_access_key_90_days", "iam_user_accesskey_unused"),
    # no plaintext secrets in resource configuration
    "SEC-01": ("ec2_instance_secrets_user_data", "awslambda_function_no_secrets_in_variables"),
    # no machine on a deprecated image
    "VUL-01": ("ec2_instance_with_outdated_ami",),
}


def parse_size(text: str) -> int:
    text = text.strip().lower()
    return int(float(text[:-1]) * 1000) if text.endswith("k") else int(text)


def scanner_env(proxy: AwsProxy, home: Path) -> dict[str, str]:
    """The environment of both scanners: the proxy as every service's endpoint, fake
    credentials, no shared config or instance metadata."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "POSTURE_", "PROWLER_"))}
    env.update(AWS_ENDPOINT_URL=proxy.url, AWS_ACCESS_KEY_ID="bench",
               AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION=REGIONS[0],
               AWS_REGION=REGIONS[0], AWS_EC2_METADATA_DISABLED="true",
               AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
               HOME=str(home))
    return env


def operations(calls: list[Call]) -> Counter[str]:
    """Calls per "service:Operation" (REST calls of services posture does not read, such as
    Prowler's extra ones, by their method and first path segment)."""
    out: Counter[str] = Counter()
    for c in calls:
        op = c.operation
        if " " in op and c.action and " " not in c.action:  # JSON protocol: X-Amz-Target
            op = c.action
        elif " " in op:
            method, _, path = op.partition(" ")
            op = f"{method} /{path.strip('/').split('/')[0]}"
        out[f"{c.service}:{op}"] += 1
    return out


class CpuSplit:
    """Where a scanner run's time went: the wall time around the child process, the CPU of
    the child (user + sys of the scanner and anything it started), and the CPU of this
    process in the meantime, which is the emulator's: moto's server threads and the proxy's
    handler threads (the proxy's share counted by the proxy itself, on its threads' clocks).
    On a machine with fewer free cores than busy threads these add up to more than the
    wall time only when they overlap."""

    def __init__(self, proxy: AwsProxy) -> None:
        self.proxy = proxy
        self.wall = self.child = self.server = self.proxy_cpu = 0.0

    def __enter__(self) -> CpuSplit:
        self._children = resource.getrusage(resource.RUSAGE_CHILDREN)
        self._self = resource.getrusage(resource.RUSAGE_SELF)
        self._proxy = self.proxy.cpu_seconds
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._started
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = resource.getrusage(resource.RUSAGE_SELF)
        self.child = (children.ru_utime + children.ru_stime
                      - self._children.ru_utime - self._children.ru_stime)
        self.server = own.ru_utime + own.ru_stime - self._self.ru_utime - self._self.ru_stime
        self.proxy_cpu = self.proxy.cpu_seconds - self._proxy

    def fields(self) -> dict[str, float]:
        return {"cpu_seconds": round(self.child, 2),
                "emulator_cpu_seconds": round(self.server, 2),
                "moto_cpu_seconds": round(max(0.0, self.server - self.proxy_cpu), 2),
                "proxy_cpu_seconds": round(self.proxy_cpu, 2)}


def start_run(proxy: AwsProxy) -> None:
    """A scanner run begins: no calls yet, replayed answers from each key's first."""
    proxy.calls.clear()
    if proxy.replay is not None:
        proxy.replay.rewind()


def child(cmd: list[str], env: dict[str, str], work: Path, timeout: float
          ) -> subprocess.CompletedProcess[str]:
    """A scanner run, stopped after `timeout` seconds (one clear line, not a hang)."""
    try:
        return subprocess.run(cmd, env=env, cwd=work, capture_output=True, text=True,
                              check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SystemExit(f"{Path(cmd[0]).name} did not finish in {timeout:g} s "
                         "(--run-timeout)") from None


def run_posture(posture: list[str], proxy: AwsProxy, env: dict[str, str], work: Path,
                timeout: float = 1800.0) -> dict[str, Any]:
    start_run(proxy)
    cmd = [*posture, "scan", "aws", "--regions", ",".join(REGIONS), "--profile", "default",
           "--checks", ",".join(CHECKS), "--format", "json", "--no-timestamps"]
    with CpuSplit(proxy) as cpu:
        done = child(cmd, env, work, timeout)
    wall = cpu.wall
    calls = list(proxy.calls)
    if done.returncode not in (0, 1, 3) or not done.stdout:
        raise SystemExit(f"posture failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    doc = json.loads(done.stdout)
    summary = doc["summary"]
    return {"wall_seconds": round(wall, 2), "calls": len(calls), "exit": done.returncode,
            "resources": summary["resources"], "by_status": summary["by_status"],
            **cpu.fields(), "operations": dict(operations(calls).most_common())}


def prowler_checks() -> list[str]:
    return sorted({c for ids in CHECKS.values() for c in ids})


def ensure_prowler(venv: Path, spec: str) -> tuple[Path, str]:
    """Prowler's executable in `venv` (created and installed with pip if it is missing)
    and its version."""
    exe = venv / "bin" / "prowler"
    if not exe.exists():
        try:
            if not (venv / "bin" / "python").exists():
                subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", spec],
                           check=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise SystemExit(f"cannot install {spec} into {venv}: {exc} (--no-prowler runs "
                             "posture's half only)") from None
    version = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import importlib.metadata as m; print(m.version('prowler'))"],
        capture_output=True, text=True, check=True).stdout.strip()
    return exe, version


def verify_checks(exe: Path, env: dict[str, str]) -> None:
    """Every Prowler check of CHECKS exists in this Prowler (stops the run otherwise)."""
    done = subprocess.run([str(exe), "aws", "--list-checks-json"], env=env,
                          capture_output=True, text=True, check=False)
    start = done.stdout.find("{")
    if done.returncode != 0 or start < 0:
        raise SystemExit(f"prowler --list-checks-json failed: {done.stderr.strip()[-2000:]}")
    listed = json.loads(done.stdout[start:])
    known = set(listed.get("aws", listed) if isinstance(listed, dict) else listed)
    missing = [c for c in prowler_checks() if c not in known]
    if missing:
        raise SystemExit(f"checks not in this Prowler: {', '.join(missing)}")


def run_prowler(exe: Path, proxy: AwsProxy, env: dict[str, str], work: Path,
                timeout: float = 1800.0) -> dict[str, Any]:
    start_run(proxy)
    out = Path(tempfile.mkdtemp(prefix="prowler-out-", dir=work))
    cmd = [str(exe), "aws", "--checks", *prowler_checks(), "-f", *REGIONS,
           "--output-formats", "json-ocsf", "-o", str(out), "-F", "bench", "--no-banner",
           "--ignore-exit-code-3"]
    with CpuSplit(proxy) as cpu:
        done = child(cmd, env, work, timeout)
    wall = cpu.wall
    calls = list(proxy.calls)
    findings: list[dict[str, Any]] = []
    for path in out.glob("*.ocsf.json"):
        findings += json.loads(path.read_text() or "[]")
    (work / "prowler-last.log").write_text(done.stdout + done.stderr)
    if done.returncode not in (0, 3) or not findings:
        raise SystemExit(f"Prowler failed (exit {done.returncode}, {len(findings)} findings): "
                         f"{(done.stdout + done.stderr).strip()[-3000:]}")
    status = Counter(str(f.get("status_code", "?")).lower() for f in findings)
    errors = sum(1 for line in (done.stdout + done.stderr).splitlines() if "ERROR" in line)
    shutil.rmtree(out, ignore_errors=True)
    return {"wall_seconds": round(wall, 2), "calls": len(calls), "exit": done.returncode,
            **cpu.fields(), "findings": len(findings), "by_status": dict(status),
            "error_lines": errors,
            "resources": len({f.get("resources", [{}])[0].get("uid") for f in findings}),
            "operations": dict(operations(calls).most_common())}


def measure(size: int, args: argparse.Namespace, posture: list[str],
            prowler: Path | None, work: Path, baseline: list[str] | None = None
            ) -> dict[str, Any]:
    prowler_estate.no_default_images()
    moto, url = start_moto()
    modes = ["moto", "replay"] if args.emulator == "both" else [args.emulator]
    try:
        mix = prowler_estate.mix_for(size)
        started = time.perf_counter()
        made = prowler_estate.build(url, mix)
        built = time.perf_counter() - started
        print(f"[{size}] built {sum(made.values())} resources in {built:.0f} s", flush=True)
        # TCP_NODELAY: no Nagle/delayed-ACK stall of ~40 ms on each answer (both modes)
        proxy = AwsProxy(moto, url, nodelay=True).start()
        cache = ReplayCache()
        if "replay" in modes:
            proxy.replay = cache  # kept from the first request on, served once warm
        results: dict[str, dict[str, list[dict[str, Any]]]] = {}
        try:
            env = scanner_env(proxy, work)
            if not args.no_warmup:
                t = args.run_timeout
                run_posture(posture, proxy, env, work, t)  # moto's lazy set-up, not measured
                if modes == ["replay"]:  # each scanner's answers kept before measuring
                    if baseline:
                        run_posture(baseline, proxy, env, work, t)
                    if prowler is not None:
                        run_prowler(prowler, proxy, env, work, t)
            proxy.latency = args.latency_ms / 1000
            for mode in modes:
                cache.serving = mode == "replay"
                results[mode] = rounds(size, mode, args, posture, prowler, proxy, env, work,
                                       baseline)
        finally:
            proxy.stop()
    finally:
        moto.stop()
    return {"size": size, "created": sum(made.values()), "by_kind": dict(made),
            "mix": vars(mix), "build_seconds": round(built, 1), "replay_kept": len(cache.answers),
            "modes": results}


def rounds(size: int, mode: str, args: argparse.Namespace, posture: list[str],
           prowler: Path | None, proxy: AwsProxy, env: dict[str, str], work: Path,
           baseline: list[str] | None) -> dict[str, list[dict[str, Any]]]:
    """posture, Prowler, posture, ... in one emulator mode (`--rounds` Prowler runs)."""
    out: dict[str, list[dict[str, Any]]] = {"posture": [], "prowler": [], "baseline": []}

    def one(kind: str, run: Any) -> None:
        cache = proxy.replay
        hits, misses = cache.counts() if cache else (0, 0)
        before = Counter(cache.misses) if cache else Counter()
        result = run()
        if mode == "replay" and cache is not None:
            now_hits, now_misses = cache.counts()
            result.update(replayed=now_hits - hits, missed=now_misses - misses,
                          missed_operations=dict(cache.misses - before))
        out[kind].append(result)
        print(f"[{size} {mode}] {kind} {_cpu_line(result)}", flush=True)

    t = args.run_timeout
    for i in range(args.rounds + 1):
        if baseline:
            one("baseline", lambda: run_posture(baseline, proxy, env, work, t))
        one("posture", lambda: run_posture(posture, proxy, env, work, t))
        if prowler is not None and i < args.rounds:
            one("prowler", lambda: run_prowler(prowler, proxy, env, work, t))
    return out


def _cpu_line(run: dict[str, Any]) -> str:
    served = (f" ({run['replayed']} replayed, {run['missed']} missed)"
              if "missed" in run else "")
    return (f"{run['wall_seconds']} s wall, {run['calls']} calls{served}; CPU: own "
            f"{run['cpu_seconds']} s, moto {run['moto_cpu_seconds']} s, proxy "
            f"{run['proxy_cpu_seconds']} s; load {os.getloadavg()[0]:.1f}")


def row(m: dict[str, Any], mode: str) -> dict[str, Any]:
    """The issue's table row of one size in one emulator mode."""
    runs = m["modes"][mode]
    walls = [r["wall_seconds"] for r in runs["posture"]]
    p_wall = statistics.median(walls)
    out: dict[str, Any] = {
        "emulator": mode, "resources": m["created"],
        "posture_resources": runs["posture"][0]["resources"],
        "posture_wall": walls, "posture_wall_median": p_wall,
        "posture_calls": statistics.median_low(r["calls"] for r in runs["posture"]),
        "posture_cpu_seconds": [r["cpu_seconds"] for r in runs["posture"]]}
    if mode == "replay":
        out["missed"] = sum(r["missed"] for kind in runs.values() for r in kind)
    if runs["prowler"]:
        pw = statistics.median(r["wall_seconds"] for r in runs["prowler"])
        out.update(prowler_wall=[r["wall_seconds"] for r in runs["prowler"]],
                   prowler_wall_median=pw, ratio=round(pw / p_wall, 1),
                   prowler_calls=statistics.median_low(r["calls"] for r in runs["prowler"]),
                   prowler_cpu_seconds=[r["cpu_seconds"] for r in runs["prowler"]])
        out["calls_ratio"] = round(out["posture_calls"] / out["prowler_calls"], 2)
    return out


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| account | emulator | posture wall | Prowler wall | Prowler/posture "
             "| posture calls | Prowler calls |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        walls = r["posture_wall"]
        pwall = f"{min(walls):.1f}-{max(walls):.1f} s" if len(walls) > 1 else f"{walls[0]:.1f} s"
        if "ratio" in r:
            pr = r["prowler_wall"]
            prw = f"{min(pr):.1f}-{max(pr):.1f} s" if len(pr) > 1 else f"{pr[0]:.1f} s"
            rest = f"{prw} | {r['ratio']}x | {r['posture_calls']:,} | {r['prowler_calls']:,}"
        else:
            rest = f"- | - | {r['posture_calls']:,} | -"
        mode = (f"replay ({r['missed']} missed)" if r["emulator"] == "replay"
                else r["emulator"])
        lines.append(f"| {r['resources']:,} resources | {mode} | {pwall} | {rest} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", default="87,4k",
                        help="account sizes in resources, comma-separated (4k = 4000)")
    parser.add_argument("--latency-ms", type=float, default=40.0,
                        help="delay added to every emulated API call")
    parser.add_argument("--rounds", type=int, default=1,
                        help="Prowler runs per size (posture runs one more, interleaved)")
    parser.add_argument("--posture", default="",
                        help="posture executable (default: this interpreter's scanner.cli)")
    parser.add_argument("--baseline", type=Path, default=None, metavar="TREE",
                        help="a checkout of another posture (e.g. main), run before each "
                        "posture run with this interpreter and PYTHONPATH=TREE")
    parser.add_argument("--prowler-venv", type=Path, default=Path("/tmp/prowler-venv"))
    parser.add_argument("--prowler-spec", default="prowler>=5,<6",
                        help="what pip installs into a new Prowler venv")
    parser.add_argument("--no-prowler", action="store_true", help="posture's half only")
    parser.add_argument("--no-warmup", action="store_true",
                        help="no unmeasured posture run first (smoke tests)")
    parser.add_argument("--emulator", choices=("replay", "moto", "both"), default="replay",
                        help="replay: measured runs served from moto's answers kept in an "
                        "unmeasured run of each scanner, after the latency (an endpoint: "
                        "the default); moto: every call answered by moto; both: moto's "
                        "rounds, then replay's on the answers they kept")
    parser.add_argument("--run-timeout", type=float, default=1800.0,
                        help="seconds a scanner run may take before the bench stops")
    parser.add_argument("--out", type=Path, default=OUT / "prowler.json")
    args = parser.parse_args(argv)
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    posture = ([args.posture] if args.posture
               else [sys.executable, "-c", "from scanner.cli import main; main()"])
    work = Path(tempfile.mkdtemp(prefix="bench-prowler-"))
    prowler: Path | None = None
    version = None
    if not args.no_prowler:
        prowler, version = ensure_prowler(args.prowler_venv, args.prowler_spec)
        verify_checks(prowler, {**os.environ, "HOME": str(work)})
    baseline = None
    if args.baseline is not None:
        tree = args.baseline.resolve()
        baseline = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(tree)!r}); "
                    "from scanner.cli import main; main()"]
    results = [measure(size, args, posture, prowler, work, baseline) for size in sizes]
    rows = [row(m, mode) for m in results for mode in m["modes"]]
    load = os.getloadavg()
    print(f"\nposture controls: {','.join(CHECKS)}; Prowler {version or '(not run)'}: "
          f"{len(prowler_checks())} checks; {len(REGIONS)} regions; "
          f"+{args.latency_ms:g} ms per call; load average {load[0]:.1f}, {load[1]:.1f}, "
          f"{load[2]:.1f}")
    print(table(rows))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": platform.node(),
        "cpus": os.cpu_count(), "load_average": [round(x, 2) for x in load],
        "latency_ms": args.latency_ms, "emulator": args.emulator, "regions": list(REGIONS),
        "rounds": args.rounds,
        "posture": args.posture or "scanner.cli (this interpreter)",
        "prowler_version": version, "controls": CHECKS, "rows": rows,
        "runs": results}, indent=1) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
