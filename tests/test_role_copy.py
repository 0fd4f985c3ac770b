"""Role assignment copies a resource by position (scanner/profile.py `_with_roles`, cheaper
than `dataclasses.replace` at 100k resources): the copy must equal `replace`'s on every
field, whatever the field order of `Resource` becomes."""

from __future__ import annotations

from dataclasses import fields, replace

from scanner.model import Kind, Resource, Unread
from scanner.profile import _with_roles


def test_the_positional_copy_equals_replace_on_every_field() -> None:
    r = Resource(id="hetzner:p/server/1", kind=Kind.COMPUTE, provider="hetzner", account="p",
                 name="web-1", region="fsn1", labels={"role": "web"},
                 properties={"public_ips": ["192.0.2.1"]}, raw={"id": 1},
                 roles=frozenset({"a"}), native_type="server",
                 unknown={"ingress": Unread("x")})
    got = _with_roles(r, frozenset({"a", "web"}))
    want = replace(r, roles=frozenset({"a", "web"}))
    for f in fields(Resource):  # raw and unknown are compare=False: compared one by one
        assert getattr(got, f.name) is getattr(want, f.name) or \
            getattr(got, f.name) == getattr(want, f.name), f.name
    assert got.roles == {"a", "web"} and r.roles == {"a"}  # a copy: the original unchanged
