"""The port labels in NET-02's and NET-07's messages come in one order, whatever order the
set of labels iterates in (string hashing differs from run to run): two scans of the same
estate must print the same message."""

from __future__ import annotations

import itertools

from checks.network import _port_order


def test_port_labels_that_start_alike_sort_by_their_last_port_in_every_input_order() -> None:
    labels = ["2375-2376", "22", "2375", "3389", "2376"]
    for order in itertools.permutations(labels):
        assert sorted(order, key=_port_order) == ["22", "2375", "2375-2376", "2376", "3389"]
