"""`posture graph`: the estate graph of snapshot files as GraphML, JSON or Graphviz DOT, for
Neo4j, Gephi, Graphviz or a script.

Nodes are the resources (plus `internet`), with their kind, name, provider, account, region,
roles, labels and the model properties that are plain values; edges are the relations
between resources (attached_to, member_of, targets, ...) and the `reaches` edges of the
exposure analysis, from `internet` to every resource traffic from the internet arrives at,
each with its exposures (protocol, ports, source ranges) and the load balancer and listener
it comes through. Every text is the estate's: GraphML and JSON escape it as XML and JSON do
(what XML 1.0 cannot carry as U+FFFD; carriage returns, C1 controls and bidi overrides as
escapes, scanner.display); DOT gets it quoted with `"` and `\\` escaped and control
characters shown as escapes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from scanner.display import json_visible, visible, xml_chars, xml_visible
from scanner.graph import INTERNET, EstateGraph, Reach
from scanner.model import Kind, Resource

GRAPH_FORMAT = "posture-graph"
GRAPH_VERSION = 1
FORMATS = ("graphml", "json", "dot")


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    type: str
    attrs: Mapping[str, Any]


def _plain(value: Any) -> Any:
    """A property value as JSON (str, number, bool, None, lists and maps of them), or None
    when it is not plain data (firewall rule layers, objects)."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple | frozenset | set):
        items = [_plain(v) for v in value]
        if any(i is None and v is not None for i, v in zip(items, value, strict=False)):
            return None
        return sorted(items, key=str) if isinstance(value, frozenset | set) else items
    if isinstance(value, Mapping):
        out = {str(k): _plain(v) for k, v in value.items()}
        return None if any(v is None and value[k] is not None
                           for k, v in zip(value, out.values(), strict=False)) else out
    return None


def node(r: Resource) -> dict[str, Any]:
    props = {k: p for k, v in sorted(r.properties.items())
             if (p := _plain(v)) is not None or v is None}
    return {"id": r.id, "kind": str(r.kind), "name": r.name, "provider": r.provider,
            "account": r.account, "region": r.region, "roles": sorted(r.roles),
            "labels": dict(sorted(r.labels.items())), "properties": props}


def _reach_attrs(reach: Reach) -> dict[str, Any]:
    return {"via": reach.via, "listener": reach.listener,
            "exposures": [e.to_json() for e in reach.exposures]}


def edges(graph: EstateGraph) -> Iterator[Edge]:
    for u, v, data in graph.g.edges(data=True):
        if "reach" in data:
            yield Edge(u, v, "reaches", _reach_attrs(data["reach"]))
        else:
            attrs = {str(k): p for k, val in data["relation"].attrs.items()
                     if (p := _plain(val)) is not None}
            yield Edge(u, v, str(data["type"]), attrs)


def nodes(graph: EstateGraph) -> list[dict[str, Any]]:
    out = [{"id": INTERNET, "kind": str(Kind.INTERNET), "name": INTERNET}]
    return out + [node(r) for _, r in sorted(graph.resources.items())]


def to_json(graph: EstateGraph, sources: list[dict[str, Any]]) -> str:
    doc = {"format": GRAPH_FORMAT, "version": GRAPH_VERSION, "sources": sources,
           "nodes": nodes(graph),
           "edges": [{"source": e.source, "target": e.target, "type": e.type, **e.attrs}
                     for e in edges(graph)]}
    return json_visible(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False)) + "\n"


def _label(e: Edge, graph: EstateGraph) -> str:
    """`tcp 443 from 0.0.0.0/0 via lb-web` for a reaches edge, the relation type otherwise."""
    if e.type != "reaches":
        return e.type
    parts = [f"{x['protocol']} {x['ports']} from {', '.join(x['sources'])}"
             for x in e.attrs["exposures"]]
    via = e.attrs.get("via")
    if via:
        lb = graph.resources.get(via)
        parts[-1] += f" via {lb.name if lb else via}"
    return "; ".join(parts)


def to_graphml(graph: EstateGraph) -> str:
    """GraphML (Gephi, Neo4j's apoc.import.graphml, yEd): scalar attributes; lists and
    maps as JSON text."""
    import networkx as nx

    out = nx.MultiDiGraph()
    for n in nodes(graph):
        out.add_node(xml_chars(n["id"]), **{k: _graphml_value(v) for k, v in n.items()
                                            if k != "id" and v is not None})
    for e in edges(graph):
        attrs: dict[str, Any] = {"type": e.type, "label": xml_chars(_label(e, graph))}
        attrs.update({k: _graphml_value(v) for k, v in e.attrs.items() if v is not None})
        out.add_edge(xml_chars(e.source), xml_chars(e.target), **attrs)
    # raw carriage returns, C1 controls and bidi overrides as character references
    return xml_visible("\n".join(nx.generate_graphml(out, prettyprint=True))) + "\n"


def _graphml_value(value: Any) -> Any:
    """A scalar as it is (a string without what XML cannot carry: a backspace in a name
    made the file unreadable), anything else as JSON text (ASCII: escaped)."""
    if isinstance(value, str):
        return xml_chars(value)
    if isinstance(value, int | float | bool):
        return value
    return json.dumps(value, sort_keys=True)


def _esc(text: Any) -> str:
    return visible(str(text)).replace("\\", "\\\\").replace('"', '\\"')


def _dot(text: Any) -> str:
    return f'"{_esc(text)}"'


NEWLINE = "\\n"  # DOT's line break inside a label


def to_dot(graph: EstateGraph) -> str:
    """Graphviz DOT: `dot -Tsvg estate.dot -o estate.svg`."""
    lines = ["digraph estate {", "  rankdir=LR;", "  node [shape=box, fontsize=10];",
             "  edge [fontsize=9];",
             f"  {_dot(INTERNET)} [shape=ellipse, color=red, label={_dot(INTERNET)}];"]
    for _, r in sorted(graph.resources.items()):
        label = f'"{_esc(r.name)}{NEWLINE}{_esc(r.kind)}"'
        lines.append(f"  {_dot(r.id)} [label={label}];")
    for e in edges(graph):
        style = ", color=red, fontcolor=red" if e.type == "reaches" else ""
        lines.append(f"  {_dot(e.source)} -> {_dot(e.target)} [label={_dot(_label(e, graph))}"
                     f"{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(fmt: str, graph: EstateGraph, sources: list[dict[str, Any]]) -> str:
    if fmt == "json":
        return to_json(graph, sources)
    if fmt == "graphml":
        return to_graphml(graph)
    return to_dot(graph)
