"""lyncdump.recent.RecentTable: the last ``size`` keys, the oldest dropped first."""

from __future__ import annotations

import pickle

from lyncdump.recent import RecentTable


def test_put_keeps_the_last_keys_and_an_existing_key_its_place() -> None:
    table: RecentTable[str, int] = RecentTable(3)
    for i, key in enumerate("abcd"):
        table.put(key, i)
    assert list(table.items()) == [("b", 1), ("c", 2), ("d", 3)]
    table.put("b", 9)  # already there: updated in place, nothing dropped
    assert list(table.items()) == [("b", 9), ("c", 2), ("d", 3)]
    table.put("e", 4)
    assert list(table) == ["c", "d", "e"]


def test_a_table_pickles_with_its_size() -> None:
    table: RecentTable[str, None] = RecentTable(2)
    for key in "xyz":
        table.put(key, None)
    copy = pickle.loads(pickle.dumps(table))
    assert copy == table and copy.size == 2
    copy.put("w", None)
    assert list(copy) == ["z", "w"]
