"""Decoding a version 2 snapshot with only the raw fields the normalizers read.

A scan that keeps no raw object (no selected check declares `uses_raw`, nothing is
recorded) needs from each raw object only what its provider's normalizer reads. A provider
says which fields those are per collection (`Provider.raw_fields`: collection -> a msgspec
type of one object, e.g. providers/hetzner/raw_fields.py); msgspec then skips every other
field in C instead of building it, which is most of a large snapshot's parse time and
memory.

The document is decoded in two steps: the snapshot's own levels (`_Document`,
`_Section`), every member kept as decoded, each region's list of raw objects left as the
bytes it spans (`msgspec.Raw`); then each list, into its collection's type or whole.
Anything that does not fit exactly (an unknown member, a value of another shape, a list
the type refuses and a plain decode refuses too, a version 1 file, whose digest is over the
parsed values) gives None: the caller decodes the document whole, as before, so every
verdict and message on a malformed file stays the whole decoder's. So does a field that was
skipped unread but that the whole decoder would have refused (not UTF-8, an integer of
more digits than Python converts): `_refused_unread` looks for both in the bytes.
"""

from __future__ import annotations

import codecs
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
from msgspec import UNSET, Raw, Struct, UnsetType


class _Section(Struct, forbid_unknown_fields=True):
    provider: Any = UNSET
    account: Any = UNSET
    collected_at: Any = UNSET
    tool_version: Any = UNSET
    locations: Any = UNSET
    collections: dict[str, dict[str, Raw]] | UnsetType = UNSET
    errors: Any = UNSET
    redacted: Any = UNSET
    replayed_from: Any = UNSET


class _Document(Struct, forbid_unknown_fields=True):
    format: Any = UNSET
    version: Any = UNSET
    tool_version: Any = UNSET
    created_at: Any = UNSET
    sections: list[_Section] | UnsetType = UNSET
    digest: Any = UNSET
    signature: Any = UNSET


_ENVELOPE = msgspec.json.Decoder(_Document)
_WHOLE = msgspec.json.Decoder()
_ERRORS = (msgspec.MsgspecError, RecursionError)


def _members(obj: Struct) -> dict[str, Any]:
    return {name: value for name in obj.__struct_fields__
            if (value := getattr(obj, name)) is not UNSET}


def decode(data: bytes, fields: Callable[[str], Mapping[str, Any]]) -> dict[str, Any] | None:
    """The version 2 document in `data`, each section's raw objects decoded into the types
    `fields(provider)` gives per collection (others whole); None where the whole decoder
    must read it (see the module's docstring)."""
    envelope = split(data)
    return None if envelope is None else fill(envelope, fields)


def split(data: bytes) -> Any:
    """The document's own levels, each region's list of raw objects left as the bytes it
    spans (`msgspec.Raw`, a view of `data`); None where the whole decoder must read it."""
    try:
        envelope = _ENVELOPE.decode(data)
    except _ERRORS:
        return None
    if envelope.version != 2 or type(envelope.version) is not int \
            or isinstance(envelope.sections, UnsetType) or _refused_unread(data):
        return None
    return envelope


def members(envelope: Any) -> dict[str, Any]:
    """The document's top-level members but its sections (what its digest trailer reads)."""
    return {k: v for k, v in _members(envelope).items() if k != "sections"}


def detach(envelope: Any) -> None:
    """Copy each region's bytes out of the file's, which the envelope then no longer
    holds: the caller can free them before the raw objects are built (`fill` frees each
    region's copy once decoded), so a large scan never holds the file and its raw objects
    at once."""
    for section in envelope.sections:
        if not isinstance(section.collections, UnsetType):
            for regions in section.collections.values():
                for region, raw in regions.items():
                    regions[region] = raw.copy()


def fill(envelope: Any, fields: Callable[[str], Mapping[str, Any]]) -> dict[str, Any] | None:
    """The document `split` gave, its raw objects decoded (see `decode`); each region's
    bytes are taken out of the envelope as they are decoded."""
    sections = []
    for section in envelope.sections:
        out = _members(section)
        if not isinstance(section.collections, UnsetType):
            shapes = fields(section.provider) if isinstance(section.provider, str) else {}
            collections: dict[str, dict[str, Any]] = {}
            for name, regions in section.collections.items():
                shape = shapes.get(name)
                decoder = _decoder(shape) if shape is not None else _WHOLE
                collections[name] = decoded = {}
                for region in list(regions):
                    raw = regions.pop(region)
                    try:
                        decoded[region] = decoder.decode(raw)
                        continue
                    except _ERRORS:
                        pass
                    try:  # not of the type's shape: whole, as the whole decoder reads it
                        decoded[region] = _WHOLE.decode(raw)
                    except _ERRORS:
                        return None
            out["collections"] = collections
        sections.append(out)
    doc = _members(envelope)
    doc["sections"] = sections
    return doc


_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}


def _decoder(shape: Any) -> msgspec.json.Decoder[Any]:
    decoder = _DECODERS.get(shape)
    if decoder is None:
        decoder = _DECODERS[shape] = msgspec.json.Decoder(list[shape])
    return decoder


# json.loads refuses integers of more digits than int() converts (4300 by default)
_LONG = sys.get_int_max_str_digits() + 1 if sys.get_int_max_str_digits() else 0
_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_SAMPLES = 4  # a run of _LONG digits spans this many consecutive multiples of _STRIDE
_STRIDE = max(1, _LONG // _SAMPLES)
_LONG_RUN = re.compile(rb"[0-9]{%d}" % _LONG)
_CHUNK = 1 << 24


def _refused_unread(data: bytes) -> bool:
    """Whether `data` holds what the whole decoder refuses but msgspec skips unread in a
    field no type lists: bytes that are not UTF-8, an integer too long to convert (looked
    for as a run of digits that long, anywhere: a false alarm only costs the whole decode)."""
    view = memoryview(data)
    if not data.isascii():
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            for i in range(0, len(data), _CHUNK):
                decoder.decode(view[i:i + _CHUNK], final=i + _CHUNK >= len(data))
        except UnicodeDecodeError:
            return True
    if _LONG:  # look at every _STRIDE-th byte first, then around each _SAMPLES digits in a
        # row found there
        samples = data[::_STRIDE].translate(_DIGITS)
        at = samples.find(b"0" * _SAMPLES)
        while at >= 0:
            start = at * _STRIDE
            if _LONG_RUN.search(data, max(0, start - _LONG), start + _STRIDE + _LONG):
                return True
            at = samples.find(b"0" * _SAMPLES, at + 1)
    return False
