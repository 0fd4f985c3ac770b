"""`posture graph`: the estate graph of a snapshot as JSON, GraphML and Graphviz DOT."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import networkx as nx

from scanner import snapshot
from tests.helpers import SEED002, run

P = "hetzner:ohallo-prod/"


def graph_json(*args: str) -> dict[str, Any]:
    result = run("graph", *args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def test_json_holds_every_resource_relation_and_exposure() -> None:
    doc = graph_json(str(SEED002))
    assert doc["format"] == "posture-graph" and doc["version"] == 1
    ids = {n["id"] for n in doc["nodes"]}
    assert "internet" in ids and P + "server/104" in ids
    assert all(e["source"] in ids and e["target"] in ids for e in doc["edges"])
    db2 = next(n for n in doc["nodes"] if n["id"] == P + "server/104")
    assert db2["name"] == "db-2" and "database" in db2["roles"]
    reaches = [e for e in doc["edges"] if e["type"] == "reaches" and e["target"] == db2["id"]]
    assert {"protocol": "tcp", "ports": "5432", "sources": ["0.0.0.0/0"]} in [
        x for e in reaches for x in e["exposures"]]
    # through a load balancer: the edge names it and its listener
    forwarded = [e for e in doc["edges"] if e["type"] == "reaches" and e["via"]]
    assert forwarded and all(e["via"] in ids and e["listener"] for e in forwarded)
    assert {"attached_to", "member_of", "targets"} <= {e["type"] for e in doc["edges"]}
    assert doc["sources"][0]["name"] == SEED002.name


def test_graphml_loads_in_networkx_with_the_same_graph(tmp_path: Path) -> None:
    out = tmp_path / "estate.graphml"
    assert run("graph", str(SEED002), "--format", "graphml", "-o", str(out)).exit_code == 0
    loaded = nx.read_graphml(out)
    doc = graph_json(str(SEED002))
    assert loaded.number_of_nodes() == len(doc["nodes"])
    assert loaded.number_of_edges() == len(doc["edges"])
    assert loaded.nodes[P + "server/104"]["name"] == "db-2"
    labels = [d["label"] for _, v, d in loaded.edges(data=True)
              if v == P + "server/104" and d["type"] == "reaches"]
    assert "tcp 5432 from 0.0.0.0/0" in labels


def test_dot_is_well_formed_and_labels_the_exposures() -> None:
    text = run("graph", str(SEED002), "--format", "dot").stdout
    lines = text.splitlines()
    assert lines[0] == "digraph estate {" and lines[-1] == "}"
    quoted = r'"(?:[^"\\]|\\.)*"'
    for line in lines[1:-1]:
        assert re.fullmatch(rf"  (?:\w+ \[.*\]|{quoted}(?: -> {quoted})? \[.*\]|rankdir=LR);",
                            line), line
    assert any('-> "hetzner:ohallo-prod/server/104" [label="tcp 5432 from 0.0.0.0/0"' in line
               for line in lines)
    assert any(" via lb-web" in line for line in lines)


def test_hostile_names_stay_inside_their_dot_and_graphml_strings(tmp_path: Path) -> None:
    doc = json.loads(SEED002.read_text())
    servers = doc["sections"][0]["collections"]["servers"]["global"]
    servers[0]["name"] = 'x" -> "pwned" [label="\n}\ndigraph evil {'
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(doc))
    snapshot.seal(path, path)
    text = run("graph", str(path), "--format", "dot").stdout
    assert "\ndigraph" not in text and text.startswith("digraph estate {\n")
    line = next(line for line in text.splitlines() if "pwned" in line)
    assert line == ('  "hetzner:ohallo-prod/server/101" [label="x\\" -> \\"pwned\\" '
                    '[label=\\"\\\\n}\\\\ndigraph evil {\\ncompute"];')
    out = tmp_path / "evil.graphml"
    run("graph", str(path), "--format", "graphml", "-o", str(out))
    names = {d.get("name") for _, d in nx.read_graphml(out).nodes(data=True)}
    assert 'x" -> "pwned" [label="\n}\ndigraph evil {' in names


def test_graph_of_a_live_source_or_bad_format_is_one_line_exit_2() -> None:
    live = run("graph", "hetzner")
    assert live.exit_code == 2 and live.stderr.count("\n") == 1
    assert "posture record hetzner" in live.stderr
    bad = run("graph", str(SEED002), "--format", "svg")
    assert bad.exit_code == 2 and bad.stderr.startswith("posture: ")
