"""lyncdump.recent.RecentTable: the last ``size`` keys, the oldest dropped first."""

from __future__ import annotations

import pickle

from lyncdump.recent import RecentTable, drop_oldest


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


def test_drop_oldest_leaves_a_small_table_alone() -> None:
    table = {key: None for key in "abc"}
    drop_oldest(table, 3)
    assert list(table) == ["a", "b", "c"]


def test_drop_oldest_drops_a_sixteenth_of_the_bound_at_once() -> None:
    table = {n: n for n in range(33)}
    del table[5]  # a key deleted in the middle keeps its place out of the count
    table[99] = 99
    drop_oldest(table, 32)  # 33 keys, one over: down to 32 - 2
    assert list(table) == [3, 4, *range(6, 33), 99]
    assert len(table) == 30


def test_drop_oldest_keeps_the_newest_keys_under_a_steady_stream() -> None:
    table: dict[int, None] = {}
    for n in range(10_000):
        table[n] = None
        drop_oldest(table, 1_000)
        assert len(table) <= 1_000
    assert len(table) >= 1_000 - 1_000 // 16
    assert list(table)[-1] == 9_999 and list(table) == sorted(table)


def test_text_key_is_a_small_int_that_stands_for_its_text() -> None:
    import sys

    from lyncdump.recent import text_key

    call_id = "8f1c2d3e4b5a69788796a5b4c3d2e1f0@10.0.0.1"
    assert text_key(call_id) == text_key("".join(call_id))  # the text, not the object
    assert 0 <= text_key(call_id) < 1 << 60
    assert sys.getsizeof(text_key(call_id)) <= 32 < sys.getsizeof(call_id)
    assert len({text_key(f"call-{n}") for n in range(100_000)}) == 100_000


def test_recent_keys_remember_what_a_dict_with_drop_oldest_remembers() -> None:
    import random

    from lyncdump.recent import RecentKeys

    for limit in (1, 2, 16, 100, 1000):
        keys = RecentKeys(limit)
        table: dict[int, int] = {}
        rng = random.Random(limit)
        for step in range(20_000):
            key = rng.randrange(limit * 3)
            op = rng.random()
            if op < 0.5:  # set: the key becomes the newest
                value = rng.randrange(1 << 40)
                keys.put(key, value)
                table.pop(key, None)
                table[key] = value
            elif op < 0.8:
                assert keys.get(key) == table.get(key, -1), (limit, step)
                continue
            else:  # add: only when new
                new = key not in table
                assert keys.add(key) is new
                if not new:
                    continue
                table[key] = 0
            if len(table) > limit:
                drop_oldest(table, limit)
            assert len(keys) == len(table)
        assert {k: keys.get(k) for k in table} == table
        assert (key in keys) is (key in table)


def test_recent_keys_cost_about_thirty_bytes_a_key() -> None:
    import tracemalloc

    from lyncdump.recent import RecentKeys, text_key

    texts = [f"{n:032x}@10.0.0.1" for n in range(50_000)]
    tracemalloc.start()
    try:
        keys = RecentKeys(50_000)
        for n, text in enumerate(texts):
            keys.put(text_key(text), n)
        size = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert keys.get(text_key(texts[123])) == 123
    assert size / 50_000 < 40, size  # a dict of the texts: about 200 B a key


def test_read_once_reads_each_text_once_and_stays_bounded() -> None:
    from lyncdump.recent import ReadOnce

    calls: list[str] = []

    def read(text: str) -> tuple[str, int]:
        calls.append(text)
        return text.upper(), len(text)

    once = ReadOnce(read, 4, 5)
    assert once("ab") == ("AB", 2) and once("ab") == ("AB", 2)
    assert calls == ["ab"]
    assert once("abcdef") == ("ABCDEF", 6) and once("abcdef") == ("ABCDEF", 6)
    assert calls == ["ab", "abcdef", "abcdef"]  # too long to keep
    for n in range(10):
        once(f"k{n}")
    assert len(once.table) <= 4
    once.read = lambda text: None  # type: ignore[assignment,return-value]
    assert once("none") is None and "none" in once.table  # None is a result like any other
