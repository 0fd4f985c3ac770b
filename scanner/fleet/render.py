"""A fleet run's reports with a per-account view: table, JSON and HTML. Every other format
(SARIF, JUnit, OCSF, ...) is the usual report of the merged result (every account's
findings, the fleet's claims)."""

from __future__ import annotations

import html
import json
from typing import Any, BinaryIO

from tabulate import tabulate

from scanner.display import visible
from scanner.fleet.rollup import FleetResult

FLEET_FORMATS = ("table", "json", "html")
FLEET_FORMAT = "posture-fleet"


def to_json(fleet: FleetResult, timestamps: bool = True) -> dict[str, Any]:
    run = fleet.run
    doc: dict[str, Any] = {
        "format": FLEET_FORMAT,
        "version": 1,
        "run": {"id": run.id, "name": run.name, "executor": run.executor},
        "accounts": [{
            "provider": a.unit.provider, "account": a.unit.account, "name": a.unit.name,
            "status": a.status, "message": a.message, "scan_id": a.scan_id,
            "attempts": a.attempts, "counts": a.counts(),
            "claims": {c.claim.claim.id: c.accounts.get(a.unit.key, "unknown")
                       for c in fleet.claims},
            **({"duration_seconds": round(a.duration, 3)} if timestamps else {}),
        } for a in fleet.accounts],
        "claims": [{**c.claim.to_json(), "accounts": dict(sorted(c.accounts.items()))}
                   for c in fleet.claims],
        "result": fleet.merged.to_json(timestamps=timestamps),
    }
    if timestamps:
        doc["run"].update(started_at=run.started_at, finished_at=run.finished_at)
    return doc


def table(fleet: FleetResult) -> str:
    rows = []
    for a in fleet.accounts:
        n = a.counts()
        rows.append([a.unit.provider, visible(a.unit.account), visible(a.unit.name[:40]),
                     a.status, f"{a.duration:.1f}s", n.get("fail", 0), n.get("error", 0),
                     n.get("pass", 0), visible(a.message[:80])])
    out = [f"fleet run #{fleet.run.id} {visible(fleet.run.name)}: {len(fleet.accounts)} "
           f"account(s), {sum(a.status != 'ok' for a in fleet.accounts)} not scanned", "",
           tabulate(rows, headers=["provider", "account", "name", "status", "took", "failed",
                                   "errors", "passed", "why"], disable_numparse=True), ""]
    claims = []
    for c in fleet.claims:
        by: dict[str, int] = {}
        for status in c.accounts.values():
            by[status] = by.get(status, 0) + 1
        claims.append([visible(c.claim.claim.id), str(c.claim.status),
                       ", ".join(f"{n} {s}" for s, n in sorted(by.items())),
                       visible(c.claim.reason[:100])])
    if claims:
        out.append(tabulate(claims, headers=["claim", "fleet", "accounts", "why"],
                            disable_numparse=True))
    return "\n".join(out) + "\n"


def page(fleet: FleetResult) -> str:
    e = html.escape
    head = "".join(f"<th>{e(c.claim.claim.id)}</th>" for c in fleet.claims)
    rows = []
    for a in fleet.accounts:
        n = a.counts()
        cells = "".join(
            f'<td class="{e(c.accounts.get(a.unit.key, "unknown"))}">'
            f'{e(c.accounts.get(a.unit.key, "unknown"))}</td>' for c in fleet.claims)
        rows.append(f"<tr><td>{e(a.unit.provider)}</td><td>{e(a.unit.account)}</td>"
                    f"<td>{e(a.unit.name)}</td><td class=\"{e(a.status)}\">{e(a.status)}</td>"
                    f"<td>{n.get('fail', 0)}</td><td>{n.get('error', 0)}</td>{cells}"
                    f"<td>{e(a.message)}</td></tr>")
    fleet_row = "".join(f'<td class="{e(str(c.claim.status))}">{e(str(c.claim.status))}</td>'
                        for c in fleet.claims)
    quotes = "".join(f"<li><b>{e(c.claim.claim.id)}</b> ({e(str(c.claim.status))}): "
                     f"{e(c.claim.claim.quote)} <i>{e(c.claim.reason)}</i></li>"
                     for c in fleet.claims)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>posture fleet run #{fleet.run.id}</title>
<style>body{{font-family:sans-serif}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 6px}}.verified,.ok{{background:#dfd}}
.contradicted,.error{{background:#fdd}}.unknown{{background:#ffd}}</style></head>
<body><h1>Fleet run #{fleet.run.id}: {e(fleet.run.name)}</h1>
<table><thead><tr><th>provider</th><th>account</th><th>name</th><th>status</th>
<th>failed</th><th>errors</th>{head}<th>why</th></tr></thead>
<tbody>{''.join(rows)}
<tr><td colspan="6"><b>fleet</b></td>{fleet_row}<td></td></tr></tbody></table>
<h2>Claims</h2><ul>{quotes}</ul></body></html>
"""


def write(name: str, fleet: FleetResult, out: BinaryIO, timestamps: bool) -> None:
    if name == "json":
        out.write(json.dumps(to_json(fleet, timestamps), indent=2, sort_keys=True).encode())
        out.write(b"\n")
    elif name == "table":
        out.write(table(fleet).encode("utf-8"))
    elif name == "html":
        out.write(page(fleet).encode("utf-8"))
    else:
        from scanner.registry import load_checks
        from scanner.reports import DESCRIBING
        from scanner.reports import write as write_report

        checks = load_checks() if name in DESCRIBING else None
        write_report(name, fleet.merged, out, timestamps, checks)
