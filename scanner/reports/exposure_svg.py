"""The path of an exposure finding as a small inline SVG picture (HTML claim report):
internet -> [load balancer ->] resource, each edge labelled with what crosses it (protocol,
ports, source ranges: the traffic the firewall rules admit there).

Drawn from the finding's evidence, which carries the `reaches` edges of the estate graph
(scanner.graph.Reach.to_json: `via` load balancer, `listener`, `exposures`) or the NET-02
`violations` (ports, sources, via). No script, no external resource: plain SVG elements whose
every text is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from scanner.display import visible
from scanner.findings import Finding

MAX_PATHS = 6  # per finding; the evidence JSON holds them all
BOX_W, BOX_H, GAP, ROW_H = 150, 34, 120, 70


def _t(text: Any, limit: int = 40) -> str:
    value = visible(str(text))
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return escape(value, quote=True)


def _listed(value: Any) -> list[Any]:
    """A list the evidence holds, or no items: a results file is untrusted, and `reaches`,
    `exposures`, `sources` of another type (a number, an object) must not break the report
    (the evidence JSON below the picture shows them as they are)."""
    return value if isinstance(value, list) else []


def _label(items: list[Mapping[str, Any]]) -> str:
    parts = []
    for e in items:
        sources = _listed(e.get("sources"))
        shown = ", ".join(str(s) for s in sources[:2]) + (" …" if len(sources) > 2 else "")
        parts.append(f"{e.get('protocol', '?')} {e.get('ports', '?')} from {shown}")
    return "; ".join(parts)


def paths(evidence: Mapping[str, Any]) -> list[tuple[str | None, str | None, str]]:
    """(load balancer id or None, listener id or None, edge label) per path in `evidence`."""
    out: list[tuple[str | None, str | None, str]] = []
    for reach in _listed(evidence.get("reaches")):
        if isinstance(reach, Mapping):
            exposures = [e for e in _listed(reach.get("exposures")) if isinstance(e, Mapping)]
            out.append((reach.get("via"), reach.get("listener"), _label(exposures)))
    for v in _listed(evidence.get("violations")):
        if isinstance(v, Mapping) and "ports" in v:
            out.append((v.get("via"), None, _label([v])))
    return out


def _box(x: int, y: int, text: str, kind: str) -> str:
    return (f'<rect class="n-{kind}" x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="5"/>'
            f'<text x="{x + BOX_W // 2}" y="{y + BOX_H // 2 + 4}" text-anchor="middle">'
            f"{text}</text>")


def _edge(x1: int, x2: int, y: int, label: str) -> str:
    mid = (x1 + x2) // 2
    head = f"{x2},{y} {x2 - 8},{y - 4} {x2 - 8},{y + 4}"  # the arrowhead: no ids, no <defs>
    return (f'<line x1="{x1}" y1="{y}" x2="{x2 - 8}" y2="{y}"/><polygon points="{head}"/>'
            f'<text class="edge" x="{mid}" y="{y - 6}" text-anchor="middle">{label}</text>')


def exposure_svg(f: Finding, names: Mapping[str, str]) -> str:
    """The picture of `f`'s exposure paths, or "" when its evidence holds none."""
    found = paths(f.evidence)
    if not found:
        return ""
    shown = found[:MAX_PATHS]
    width = 3 * BOX_W + 2 * GAP + 10
    height = ROW_H * len(shown) + 10
    target = _t(f.resource_name or f.resource)
    out = [f'<svg class="exposure" role="img" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" '
           f'aria-label="how the internet reaches {target}">']
    for i, (via, listener, label) in enumerate(shown):
        y = 10 + i * ROW_H + 16
        mid_y = y + BOX_H // 2
        out.append(f'<g class="path" data-via="{_t(via or "", 200)}">')
        out.append(_box(0, y, "internet", "internet"))
        if via:
            lb = _t(names.get(str(via)) or str(via).rsplit("/", 1)[-1])
            listener_text = _t(str(listener).rsplit("/", 1)[-1]) if listener else "listener"
            out.append(_edge(BOX_W, BOX_W + GAP, mid_y, listener_text))
            out.append(_box(BOX_W + GAP, y, lb, "lb"))
            out.append(_edge(2 * BOX_W + GAP, 2 * (BOX_W + GAP), mid_y, _t(label, 60)))
        else:
            out.append(_edge(BOX_W, 2 * (BOX_W + GAP), mid_y, _t(label, 60)))
        out.append(_box(2 * (BOX_W + GAP), y, target, "target"))
        out.append("</g>")
    out.append("</svg>")
    if len(found) > MAX_PATHS:
        out.append(f'<p class="meta">… {len(found) - MAX_PATHS} more paths in the evidence '
                   "JSON.</p>")
    return "".join(out)
