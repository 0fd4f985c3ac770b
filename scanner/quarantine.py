"""Raw objects with a field of the wrong type: one object's bad field never refuses the scan.

A normalizer reads the raw API objects as the API documents them, and refuses a value of
another type rather than reading it as absent (its typed accessors raise `TypeError`, and a
stray type raises one of `MALFORMED` anywhere else). Refusing the whole scan for one field
would blank every verdict it could not change (DESIGN.md, "Fail closed, precisely"), so the
engine normalizes each section through `normalize_isolated`:

1. The normalizer runs. When it raises one of `MALFORMED`, the raw object it was reading is
   found from the failure itself: the innermost frame of the traceback that holds a value of
   the section's raw data (by identity) names the top-level object (one item of a collection
   in one region) and the field path inside it.
2. That field is taken out of the object (the object stays, with every other field) and the
   normalizer runs again; an object that fails again without a field to take out, or that is
   not an object at all, is taken out of its collection.
3. What was taken out is then accounted for, never dropped in silence:
   - every resource built from a repaired object gets `Resource.unknown[ANY_PROPERTY]`
     (`reason="malformed"`, naming the field path and the type found), so every verdict on
     it is `error`, and the resources it feeds get the properties it feeds unknown: what is
     protected by it (`ingress`), what it targets (load balancer -> targets), what it is a
     member of or attached to (a listener's load balancer, a public IP's or volume's
     machine), and every resource whose rule layers name it (`RuleLayer.origin`,
     `Rule.origin`: a network ACL, a route table, an NSG feeding another resource's
     ingress);
   - an object taken out (no identity, not an object, or no resource built from it: a
     route table, a network ACL, a backup selection that only feeds others) is recorded as a
     failed read of its collection in its region (reason `invalid`, the message naming the
     object, the field and the type found): the engine's fail-closed rule then turns into
     `error` exactly what that collection could have changed there
     (`Collection.affects`, opens/closes), and names the scope in its own `error` finding.
4. Each malformed object is one warning line (the traceback only at debug level, -vv).

What cannot be attributed to one raw object (the section's structure itself) stays bad input:
the caller refuses it (exit 2), as before.
"""

from __future__ import annotations

import linecache
import logging
import re
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from scanner.model import (
    ANY_PROPERTY,
    PROPERTIES,
    ErrorReason,
    Inventory,
    Kind,
    Relation,
    RelationType,
    Resource,
    Unread,
)
from scanner.snapshot import Section

log = logging.getLogger("posture")

# What a raw value of the wrong type (a list where a port belongs, an infinite number, JSON
# nested a thousand deep) raises in a normalizer or in the graph built from its resources.
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError,
             RecursionError)

REASON = "malformed"  # Unread.reason of what a malformed field feeds
LIMIT = 200  # repairs per section before it is refused as a whole (exit 2)
# Each repair normalizes the section again and indexes its raw values anew: in a large
# section that is seconds a repair, so repairs are bounded by the work they cost too (the
# raw containers indexed, summed over the repairs): a 100k-object snapshot gets a few
# repairs, not 200 normalizations (an attacker's snapshot must not buy an hour of CPU).
WORK_LIMIT = 6_000_000
SKIP = frozenset({"not_assessed"})  # section collections the engine itself writes
# Keys that name a raw object, in the order they are tried (Hetzner/Azure `id`, AWS ids).
ID_KEYS = ("id", "Id", "ARN", "Arn", "arn", "address", "name", "Name")

Where = tuple[str, str, int]  # collection, region, index in its list
Path = tuple[Any, ...]


@dataclass
class Malformed:
    """One raw object that held a value of the wrong type, and what was done about it."""

    collection: str
    region: str
    obj: Any
    name: str
    fields: list[str] = field(default_factory=list)  # "path (type found)"
    removed: list[Any] = field(default_factory=list)  # the values taken out
    dropped: bool = False
    exc: str = ""

    @property
    def label(self) -> str:
        return f"{self.collection} {self.name} ({self.region})"

    def why(self) -> str:
        if self.fields:
            return (f"{self.label}: {', '.join(self.fields)} not of the type the API "
                    "documents, not read")
        return f"{self.label}: not shaped as the API returns it ({self.exc}), not read"


def object_name(obj: Any, index: int) -> str:
    """How an object is named in a finding: its id, or its place in the list."""
    if isinstance(obj, Mapping):
        for key in ID_KEYS:
            value = obj.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and value != "":
                return str(value)[:200]
        for key, value in obj.items():
            if isinstance(key, str) and key.endswith(("Id", "Arn", "Name")) and \
                    isinstance(value, str) and value:
                return value[:200]
    kind = _type(obj)
    return f"#{index} ({'an' if kind[0] in 'aeiou' else 'a'} {kind})"


def _name_on(obj: Any, path: Path, index: int) -> str:
    """The name of the innermost object on `path` that has one (a reservation's instance),
    else the top-level object's."""
    names = []
    value = obj
    for key in path:
        if not isinstance(value, dict | list):
            break
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(value, Mapping):
            name = object_name(value, -1)
            if not name.startswith("#"):
                names.append(name)
    return names[-1] if names else object_name(obj, index)


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _path_text(path: Path) -> str:
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


class _Index:
    """The section's raw data by identity: id(value) -> where its top-level object is and
    the path to the value inside it (containers and top-level items; built on a failure
    only, and rebuilt after each repair)."""

    def __init__(self, section: Section) -> None:
        self.section = section
        self.owner: dict[int, tuple[Where, Path]] = {}
        for name, regions in section.collections.items():
            if name in SKIP or not isinstance(regions, dict):
                continue
            for region, objs in regions.items():
                if not isinstance(objs, list):
                    continue
                for i, obj in enumerate(objs):
                    where = (name, region, i)
                    self.owner[id(obj)] = (where, ())
                    stack: list[tuple[Any, Path]] = [(obj, ())]
                    while stack:
                        value, path = stack.pop()
                        if isinstance(value, dict):
                            self.owner[id(value)] = (where, path)
                            stack.extend((v, (*path, k)) for k, v in value.items())
                        elif isinstance(value, list):
                            self.owner[id(value)] = (where, path)
                            stack.extend((v, (*path, k)) for k, v in enumerate(value))

    def top(self, where: Where) -> Any:
        name, region, i = where
        return self.section.collections[name][region][i]

    def at(self, where: Where, path: Path) -> Any:
        value = self.top(where)
        for key in path:
            value = value[key]
        return value


@dataclass(frozen=True)
class _Frame:
    """One traceback entry: the locals the failing expression names (by the source text of
    the instruction that failed), so that a loop variable left over from an earlier loop
    of the same function is never taken for the object being read."""

    used: dict[str, Any]
    all: dict[str, Any]
    text: str  # the failing instruction's source text


def _frames(exc: BaseException) -> list[_Frame]:
    """The traceback's entries, innermost first."""
    out = []
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        text = _source(frame.f_code, tb.tb_lasti, tb.tb_lineno)
        names = set(re.findall(r"[A-Za-z_]\w*", text)) if text else set(frame.f_locals)
        local = dict(frame.f_locals)
        out.append(_Frame({k: v for k, v in local.items() if k in names}, local, text))
        tb = tb.tb_next
    return out[::-1]


def _source(code: types.CodeType, lasti: int, lineno: int) -> str:
    """The source text of the instruction at `lasti` (Python 3.11 positions), or its line."""
    try:
        positions = list(code.co_positions())
        start, end, col, end_col = positions[lasti // 2]
    except (IndexError, ValueError):
        start = end = col = end_col = None
    filename = code.co_filename
    if start is None or end is None:
        return linecache.getline(filename, lineno)
    lines = [linecache.getline(filename, n) for n in range(start, end + 1)]
    if not any(lines):
        return ""
    if col is not None and end_col is not None:
        if len(lines) == 1:
            return lines[0][col:end_col]
        lines[0], lines[-1] = lines[0][col:], lines[-1][:end_col]
    return "".join(lines)


def _find_key(value: Any, path: Path, test: Callable[[Any], bool], depth: int = 3
              ) -> Path | None:
    """The path of the first key passing `test` in `value` or the objects inside it (up to
    `depth` levels: `_props(pip).get("ipAddress")` names the object, the message the field
    of its `properties`), shallowest first."""
    level: list[tuple[Any, Path]] = [(value, path)]
    for _ in range(depth):
        nested: list[tuple[Any, Path]] = []
        for v, p in level:
            if isinstance(v, dict):
                for k, child in v.items():
                    if test(k):
                        return (*p, k)
                    if isinstance(child, dict | list):
                        nested.append((child, (*p, k)))
            elif isinstance(v, list):
                nested.extend((child, (*p, i)) for i, child in enumerate(v)
                              if isinstance(child, dict | list))
        level = nested
    return None


# Words of Python's own messages that are also field names ("unhashable type: 'list'").
_WORDS = frozenset({"type", "list", "dict", "str", "int", "float", "object", "array",
                    "string", "null", "none", "value", "key", "index", "range", "format"})


def culprit(exc: BaseException, index: _Index) -> tuple[Where, Path] | None:
    """The top-level raw object the failure was reading and the field path inside it.

    Only the locals the failing expression of each frame names count (`_Frame.used`),
    innermost frame first; in the first frame that names a raw value (by identity: the
    section's raw data indexed), the first match wins:
    0. for a KeyError, the deepest raw object named that lacks the key (taken out whole
       when it is the top-level object);
    1. a field the message names (`NetworkInterfaces: expected an array`) of a raw object
       that frame names;
    2. a field the failing expression names as a literal (`pip["assignee_id"] in ids`);
    3. a field of such an object whose value a frame inside it holds (the `0` that
       `backup_window` was, handed to the check that refused it);
    4. the deepest raw value it names (a `{}` handed to `_arr`, a rule being read)."""
    frames = _frames(exc)
    text = str(exc)

    def named(key: Any) -> bool:  # the key as a word of the message, not as English
        if not isinstance(key, str) or not key or re.search(
                rf"(?<![\w]){re.escape(key)}(?![\w])", text) is None:
            return False
        return key.lower() not in _WORDS or text.startswith(f"{key}:") or \
            f"'{key}'" == text

    def quoted(key: Any, source: str) -> bool:  # a literal subscript or .get() key
        return isinstance(key, str) and bool(key) and (
            f'"{key}"' in source or f"'{key}'" in source)

    def raw(values: Iterable[Any]) -> list[tuple[tuple[Where, Path], Any]]:
        return [(index.owner[id(v)], v) for v in values
                if isinstance(v, dict | list) and id(v) in index.owner]

    for n, frame in enumerate(frames):
        found = raw(frame.used.values())
        if not found:
            # the statement names no raw object (`raise TypeError(f"backup_window: ...
            # {window}")`): a field of one the frame holds, named by the message and
            # held by the statement, is still certain
            used = {id(v) for f in frames[:n + 1] for v in f.used.values()}
            for (where, path), value in raw(frame.all.values()):
                if isinstance(value, dict):
                    for k, v in value.items():
                        if named(k) and id(v) in used:
                            return where, (*path, k)
            continue
        found.sort(key=lambda wv: -len(wv[0][1]))  # deepest first
        if isinstance(exc, KeyError) and exc.args:  # a key the object lacks: the object
            # that lacks it is the culprit (not a nested field that happens to bear the name:
            # a server without `id` is not repaired by taking out `image.id`)
            for (where, path), value in found:
                if isinstance(value, dict) and exc.args[0] not in value:
                    return where, path
        for test in (named, partial(quoted, source=frame.text)):
            for (where, path), value in found:
                hit = _find_key(value, path, test)
                if hit is not None:
                    return where, hit
        held = {id(v) for f in frames[:n + 1] for v in f.used.values()
                if not isinstance(v, bool | type(None))}
        for (where, path), value in found:
            if isinstance(value, dict):
                for k, v in value.items():
                    if id(v) in held and not isinstance(v, bool | type(None)):
                        return where, (*path, k)
        return found[0][0]
    for frame in frames:  # last resort: the deepest raw value the failing frame holds
        found = sorted(raw(frame.all.values()), key=lambda wv: -len(wv[0][1]))
        if found:
            return found[0][0]
    return None


@dataclass
class Outcome:
    """What `normalize_isolated` produced: the inventory and the objects it repaired."""

    inventory: Inventory
    malformed: list[Malformed]


def normalize_isolated(section: Section, normalize: Callable[[Section], Inventory],
                       collections: Mapping[str, Any] | None = None) -> Outcome:
    """`normalize(section)`, with each raw object holding a value of the wrong type repaired
    or taken out and accounted for (the module's docstring). Raises the normalizer's own
    exception when it cannot be attributed to one raw object (the section's structure)."""
    records: dict[int, Malformed] = {}  # id(top-level object) -> its record
    work = 0
    for _ in range(LIMIT):
        try:
            inv = normalize(section)
        except MALFORMED as exc:
            index = _Index(section)
            work += len(index.owner)
            if work > WORK_LIMIT and records:
                raise RecursionError(
                    f"{len(records) + 1} raw objects not shaped as the API returns them in a "
                    f"section of {len(index.owner):,} raw values: more than posture repairs "
                    "one by one in a section this large") from exc
            found = culprit(exc, index)
            if found is None:
                raise
            _repair(section, index, found, exc, records)
            continue
        if not records:  # the usual case: every object read as the API documents it
            return Outcome(inv, [])
        unbuilt = _unbuilt(inv, records)
        if unbuilt:  # it only fed others: account for it as a failed read of its list
            for rec in unbuilt:
                _drop(section, rec)
            continue
        if _widen_orphans(section, inv, records):
            continue
        inv = _mark_parents(inv, section, records, collections or {})
        return Outcome(_mark(inv, records, section), list(records.values()))
    raise RecursionError(f"more than {LIMIT} raw objects not shaped as the API returns them")


def _repair(section: Section, index: _Index, found: tuple[Where, Path], exc: BaseException,
            records: dict[int, Malformed]) -> None:
    (name, region, i), path = found
    obj = index.top((name, region, i))
    rec = records.get(id(obj))
    if rec is None:
        rec = records[id(obj)] = Malformed(name, region, obj, _name_on(obj, path, i),
                                           exc=f"{type(exc).__name__}: {str(exc)[:200]}")
        log.debug("malformed raw object %s", rec.label, exc_info=exc)
    if not path or not isinstance(obj, dict) or rec.dropped or len(rec.fields) >= 20:
        _drop(section, rec)
        return
    holder = index.at((name, region, i), path[:-1])
    value = holder[path[-1]]
    rec.fields.append(f"{_path_text(path)} ({_type(value)})")
    rec.removed.append(value)
    if isinstance(holder, dict):
        del holder[path[-1]]
    else:
        holder.pop(path[-1])


def _drop(section: Section, rec: Malformed) -> None:
    """Take the object out of its list; its list in that region counts as not fully read."""
    if rec.dropped:
        return
    rec.dropped = True
    log.warning("%s account %r: %s: its list in %s counts as not fully read",
                section.provider, section.account, rec.why(), rec.region)
    objs = section.collections[rec.collection][rec.region]
    section.collections[rec.collection][rec.region] = [o for o in objs if o is not rec.obj]
    section.fail(rec.collection, rec.region, ErrorReason.INVALID, rec.why(),
                 resource=parent_of(rec.collection, rec.obj))


def _widen_orphans(section: Section, inv: Inventory, records: dict[int, Malformed]) -> bool:
    """A per-resource read taken out whose parent is no resource (a backup plan, read for
    the selections that cover machines) counts as a failed read of its whole list in its
    region: what it decides for other resources is not attributable to one. True: the
    section's errors changed (normalize again)."""
    natives = set()
    for r in inv.resources:
        native = r.native_id.lower()
        natives |= {native, native.rsplit("/", 1)[-1], native.rsplit(":", 1)[-1],
                    r.name.lower()}
    changed = False
    for rec in records.values():
        if not rec.dropped:
            continue
        for err in section.errors:
            parent = err.get("resource")
            if err.get("message") == rec.why() and parent and \
                    str(parent).lower().strip("/") not in natives:
                del err["resource"]
                changed = True
    return changed


def _mark_parents(inv: Inventory, section: Section, records: dict[int, Malformed],
                  collections: Mapping[str, Any]) -> Inventory:
    """A per-resource read taken out (a SQL server's firewall rule, a bucket's policy)
    leaves what its collection decides of its parent unknown (`Collection.affects` for
    the parent's kind: every property when it declares none), so that a verdict it could
    move is `error`, not gone (a check judges a resource whose exposure is unknown)."""
    parents = {}
    for rec in records.values():
        if not rec.dropped:
            continue
        for err in section.errors:
            if err.get("message") == rec.why() and err.get("resource"):
                parents[str(err["resource"]).lower().strip("/")] = rec
    if not parents:
        return inv
    resources = []
    for r in inv.resources:
        native = r.native_id.lower()
        hit = next((parents[k] for k in (native, native.rsplit("/", 1)[-1],
                                         native.rsplit(":", 1)[-1], r.name.lower())
                    if k in parents), None)
        if hit is not None:
            rec = hit
            col = collections.get(rec.collection)
            affects = getattr(col, "affects", None)
            props = {ANY_PROPERTY} if affects is None else set(affects.get(r.kind, ()))
            why = Unread(rec.why(), reason=REASON, opens=getattr(col, "opens", True),
                         closes=getattr(col, "closes", True))
            add = {p: why for p in props if p not in r.unknown}
            if add:
                r = replace(r, unknown={**r.unknown, **add})
        resources.append(r)
    return replace(inv, resources=tuple(resources))


def parent_of(collection: str, obj: Any) -> str | None:
    """The resource a per-resource read was made for, as its error names it (so that only
    that resource's verdicts are touched): an AWS envelope's request parameter, an Azure
    child resource's parent in its ARM id; None: a list of resources of their own."""
    if not isinstance(obj, Mapping):
        return None
    request = obj.get("request")
    if "response" in obj and isinstance(request, Mapping):
        for value in request.values():
            if isinstance(value, str) and value:
                return value
        return None
    rid = obj.get("id")
    if collection.count("/") >= 2 and isinstance(rid, str) and rid.count("/") >= 10:
        return rid.rsplit("/", 2)[0]  # .../servers/a/databases/b -> .../servers/a
    return None


def _built_from(inv: Inventory, records: dict[int, Malformed]) -> dict[int, list[Resource]]:
    """Resources built from each repaired object (their raw is it or a value inside it)."""
    inside: dict[int, int] = {}
    for key, rec in records.items():
        if rec.dropped:
            continue
        stack: list[Any] = [rec.obj]
        while stack:
            value = stack.pop()
            if isinstance(value, dict):
                inside[id(value)] = key
                stack.extend(value.values())
            elif isinstance(value, list):
                inside[id(value)] = key
                stack.extend(value)
    out: dict[int, list[Resource]] = {}
    for r in inv.resources:
        owner = inside.get(id(r.raw))
        if owner is not None:
            out.setdefault(owner, []).append(r)
    return out


def _unbuilt(inv: Inventory, records: dict[int, Malformed]) -> list[Malformed]:
    built = _built_from(inv, records)
    return [rec for key, rec in records.items() if not rec.dropped and key not in built]


# What a resource of a kind feeds in a resource it is attached to or a member of.
ATTACHED_FEEDS: Mapping[Kind, frozenset[str]] = {
    Kind.PUBLIC_IP: frozenset({"public_ips", "ingress", "public_endpoint", "public_hostnames"}),
    Kind.VOLUME: frozenset({"stateful", "encrypted", "backup_enabled"}),
    Kind.FIREWALL: frozenset({"ingress"}),
    Kind.LISTENER: frozenset({"ingress"}),
    Kind.SUBNET: frozenset({"ingress", "public_ips"}),
}
EXPOSURE = frozenset({"ingress", "public_ips", "public_endpoint"})


def _feeds(r: Relation, tainted: Mapping[str, Resource]) -> Iterable[tuple[str, frozenset[str]]]:
    """(resource id, properties) that relation `r` makes depend on a tainted resource."""
    src, dst = tainted.get(r.source), tainted.get(r.target)
    if dst is not None and r.type is RelationType.PROTECTED_BY:
        yield r.source, frozenset({"ingress"})
    if src is not None and r.type is RelationType.TARGETS:
        yield r.target, EXPOSURE
    if src is not None and r.type in (RelationType.ATTACHED_TO, RelationType.MEMBER_OF):
        props = ATTACHED_FEEDS.get(src.kind)
        if props:
            yield r.target, props
    if dst is not None and r.type in (RelationType.REPLICATES_TO, RelationType.BACKED_UP_BY):
        yield r.source, frozenset({"replica_regions", "backup_redundancy", "backup_enabled",
                                   "backup_frequency_hours", "backup_retention_days"})
    if dst is not None and r.type is RelationType.ENCRYPTED_WITH:
        yield r.source, frozenset({"encrypted", "encryption_evidence"})
    if dst is not None and r.type is RelationType.ATTACHED_TO and dst.kind is Kind.PUBLIC_IP:
        yield r.source, EXPOSURE


def _origins(r: Resource) -> set[str]:
    """Every id the resource's rule layers name (the layer's and each rule's origin)."""
    out: set[str] = set()
    for layer in r.properties.get("ingress") or ():
        for o in getattr(layer, "origin", ()) or ():
            out.add(str(o))
        for rule in getattr(layer, "rules", ()) or ():
            o = getattr(rule, "origin", "")
            if o:
                out.add(str(o).split("#", 1)[0])
    return out


def _strings(value: Any) -> set[str]:
    """Every string inside a raw value, lower-cased (ids compared as ARM ids are)."""
    return _tokens((value,), numbers=False)


def _referrers(inv: Inventory, section: Section, tainted: Iterable[Resource]
               ) -> dict[str, str]:
    """Resources whose raw object names a tainted resource, directly or through a raw
    object that is no resource of its own (an Azure VM -> its NIC -> the public IP whose
    properties could not be read): resource id -> the tainted resource's id."""
    ids = {}
    for t in tainted:
        for key in (t.id.lower(), t.native_id.lower().strip("/")):
            ids[key] = t.id
    if not ids:
        return {}
    built = {id(r.raw) for r in inv.resources}
    for name, regions in section.collections.items():  # one hop through the others
        if name in SKIP:
            continue
        for objs in regions.values():
            for obj in objs:
                if id(obj) in built or not isinstance(obj, Mapping):
                    continue
                hit = next((ids[x] for x in _strings(obj) if x in ids), None)
                own = obj.get("id")
                if hit is not None and isinstance(own, str) and own:
                    ids.setdefault(own.lower().strip("/"), hit)
    out = {}
    exposed = PROPERTIES["ingress"].kinds  # what has an exposure to take from it
    for r in inv.resources:
        if r.kind in exposed and r.id not in ids.values():
            hit = next((ids[x] for x in _strings(r.raw) if x in ids), None)
            if hit is not None and hit != r.id:
                out[r.id] = hit
    return out


def _mark(inv: Inventory, records: dict[int, Malformed], section: Section | None = None
          ) -> Inventory:
    whys: dict[str, str] = {}
    built = _built_from(inv, records)
    for key, resources in built.items():
        rec = records[key]
        log.warning("%s account %r: %s: its verdicts are errors", inv.provider, inv.account,
                    rec.why())
        for r in resources:
            whys[r.id] = rec.why()
    # what the unread values named (a listener's certificate, a target server) may have
    # been used, targeted or attached by it: their verdicts rest on it too
    by_name: dict[str, list[Resource]] = {}
    for r in inv.resources:
        native = r.native_id.lower()
        for name in {native, native.rsplit("/", 1)[-1], native.rsplit(":", 1)[-1]}:
            by_name.setdefault(name, []).append(r)
    for key in built:
        rec = records[key]
        for token in _tokens(rec.removed):
            for r in by_name.get(token, ()):
                whys.setdefault(r.id, f"{rec.why()} (it names {r.name or r.id})")
    out = taint(inv, whys)
    if section is None:
        return out
    # what names a tainted resource in its own raw data (directly or through a raw object
    # of no resource of its own) may take its exposure from it
    tainted = [r for r in out.resources if r.id in whys]
    refs = _referrers(out, section, tainted)
    if not refs:
        return out
    resources = []
    for r in out.resources:
        source = refs.get(r.id)
        if source is not None:
            add = {p: Unread(whys[source], reason=REASON) for p in EXPOSURE
                   if p not in r.unknown}
            r = replace(r, unknown={**r.unknown, **add}) if add else r
        resources.append(r)
    return replace(out, resources=tuple(resources))


def _tokens(values: Iterable[Any], numbers: bool = True) -> set[str]:
    """The ids a value may name: strings of three characters or more (lower-cased), and
    integers >= 100 unless `numbers` is false."""
    out: set[str] = set()
    stack = list(values)
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, str) and len(v) >= 3:
            out.add(v.lower().strip("/"))
        elif numbers and isinstance(v, int) and not isinstance(v, bool) and v >= 100:
            out.add(str(v))
    return out


def taint(inv: Inventory, whys: Mapping[str, str]) -> Inventory:
    """Every verdict on the resources `whys` names is `error` (`unknown[ANY_PROPERTY]`),
    and so are the properties of other resources they feed (`_feeds`, rule origins)."""
    if not whys:
        return inv
    tainted = {r.id: r for r in inv.resources if r.id in whys}
    marks: dict[str, dict[str, Unread]] = {
        rid: {ANY_PROPERTY: Unread(why, reason=REASON)} for rid, why in whys.items()}

    def feed(rid: str, props: Iterable[str], source: str) -> None:
        if rid in tainted:
            return
        for prop in props:
            marks.setdefault(rid, {}).setdefault(prop, Unread(whys[source], reason=REASON))

    for rel in inv.relations:
        for rid, props in _feeds(rel, tainted):
            feed(rid, props, rel.source if rel.source in tainted else rel.target)
    names = {}
    for rid, r in tainted.items():
        names[rid] = rid
        names[r.native_id] = rid
        names[r.native_id.lower()] = rid
    for r in inv.resources:
        if r.id in tainted or "ingress" not in r.properties:
            continue
        for origin in _origins(r):
            source = names.get(origin) or names.get(origin.lower())
            if source is not None:
                feed(r.id, ("ingress",), source)
                break
    # what a resource whose exposure is unknown forwards to (a load balancer or gateway
    # behind a malformed NSG, and its targets) is unknown as well
    why_of = {rid: next(iter(m.values())).why for rid, m in marks.items()}
    targets = [(rel.source, rel.target) for rel in inv.relations
               if rel.type is RelationType.TARGETS]
    changed = True
    while changed:
        changed = False
        for src, dst in targets:
            if dst in tainted or not (EXPOSURE & set(marks.get(src, ()))):
                continue
            have = marks.setdefault(dst, {})
            for prop in EXPOSURE - set(have):
                have[prop] = Unread(why_of[src], reason=REASON)
                why_of.setdefault(dst, why_of[src])
                changed = True
    resources = tuple(replace(r, unknown={**r.unknown, **marks[r.id]}) if r.id in marks else r
                      for r in inv.resources)
    return replace(inv, resources=resources)


def unjudged(checks: Iterable[Any], resources: Mapping[str, Resource],
             findings: Iterable[Any]) -> list[Any]:
    """An `error` finding for each check that judges resources of a kind here (it gave a
    verdict on one) but gave none on a resource of that kind with a property it reads
    unknown for a malformed object (built from it, or fed by it): whether it would have
    judged it rests on what could not be read."""
    from scanner.findings import EvidenceLevel, Finding, Status
    hit = {r.id: (r, {p for p, u in r.unknown.items() if u.reason == REASON})
           for r in resources.values()}
    hit = {rid: rp for rid, rp in hit.items() if rp[1]}
    if not hit:
        return []
    findings = list(findings)
    have = {(f.check, f.resource) for f in findings}
    judged = {(f.check, f.resource_kind) for f in findings}  # what each check judges here
    out = []
    for c in checks:
        for r, props in hit.values():
            if (c.id, str(r.kind)) not in judged or (c.id, r.id) in have:
                continue
            read = [p for p in sorted(props) if p == ANY_PROPERTY or c.reads is None
                    or p in c.reads]
            if read:
                u = r.unknown[read[0]]
                label = "" if read[0] == ANY_PROPERTY else f"{read[0]}: "
                out.append(Finding(
                    check=c.id, resource=r.id, status=Status.ERROR, severity=c.severity,
                    message=f"could not tell ({label}{u.why})",
                    resource_name=r.name, resource_kind=str(r.kind), provider=r.provider,
                    account=r.account, region=r.region, reason=REASON,
                    evidence_level=EvidenceLevel.NONE))
    return out


def graph_isolated(inventories: list[Inventory], build: Callable[[list[Inventory]], Any]
                   ) -> tuple[Any, list[Inventory]]:
    """`build(inventories)` (the estate graph), a resource whose properties it cannot use
    (a value a normalizer passed on of the wrong type) replaced by itself without its
    properties and with every verdict on it `error` (`unknown[ANY_PROPERTY]`), what it
    feeds marked as for a malformed raw object. Raises when the failure names no resource."""
    for _ in range(LIMIT):
        try:
            return build(inventories), inventories
        except MALFORMED as exc:
            by_id = {id(r): (n, r) for n, inv in enumerate(inventories) for r in inv.resources}
            hit = next(((by_id[id(v)]) for f in _frames(exc) for v in f.all.values()
                        if isinstance(v, Resource) and id(v) in by_id), None)
            if hit is None:
                raise
            n, bad = hit
            why = (f"{bad.id}: a property is not of the type the model documents "
                   f"({type(exc).__name__}: {str(exc)[:200]}); not read")
            log.warning("%s account %r: %s: its verdicts are errors", bad.provider,
                        bad.account, why)
            log.debug("graph of a malformed resource", exc_info=exc)
            inv = inventories[n]
            fed = taint(inv, {bad.id: why})  # what it feeds, read before its properties go
            stand_in = replace(bad, properties={}, unknown={
                ANY_PROPERTY: Unread(why, reason=REASON)})
            fed = replace(fed, resources=tuple(stand_in if r.id == bad.id else r
                                               for r in fed.resources))
            inventories = [*inventories[:n], fed, *inventories[n + 1:]]
    raise RecursionError(f"more than {LIMIT} resources of the wrong shape")
