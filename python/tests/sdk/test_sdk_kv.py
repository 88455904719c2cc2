"""KV helpers over the in-memory server: JSON values, atomics, expiry, listing, errors."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import pytest

from mmplugin.errors import BadRequestError
from mmplugin.kv import AsyncKVStore, AtomicUpdateError, KVError, KVStore
from mmplugin.models import Post
from mmplugin.testing import FakeAPI, FakeAsyncAPI


@dataclasses.dataclass
class State:
    count: int
    tags: list[str]
    last: Post | None = None


@pytest.fixture
def kv(mm_fake: FakeAPI) -> KVStore:
    return KVStore(mm_fake)


def test_values_are_stored_as_compact_json_and_bytes_as_they_are(
    kv: KVStore, mm_fake: FakeAPI
) -> None:
    kv.set("doc", {"a": [1, 2], "b": "é"})
    kv.set("raw", b"\x00\x01")
    assert mm_fake.kv_data() == {"doc": '{"a":[1,2],"b":"é"}'.encode(), "raw": b"\x00\x01"}
    assert kv.get("doc") == {"a": [1, 2], "b": "é"}
    assert kv.get_bytes("raw") == b"\x00\x01"
    assert kv.get("missing") is None and kv.get("missing", 5) == 5


def test_a_non_json_value_read_with_get_says_to_use_get_bytes(kv: KVStore) -> None:
    kv.set("raw", b"\xff\xfe")
    with pytest.raises(KVError, match=r"'raw' is not JSON \(2 bytes\): read it with get_bytes"):
        kv.get("raw")


def test_get_as_builds_dataclasses_and_models(kv: KVStore) -> None:
    kv.set("state", State(3, ["x"], Post(id="p1", message="hi")))
    state = kv.get_as("state", State)
    assert state == State(3, ["x"], Post(id="p1", message="hi"))
    assert kv.get_as("nothing", State) is None
    assert kv.get_as("nothing", State, State(0, [])) == State(0, [])
    kv.set("numbers", [1, 2, 3])
    assert kv.get_as("numbers", list[int]) == [1, 2, 3]
    with pytest.raises(TypeError, match=r"KV key 'numbers': expected State, got list"):
        kv.get_as("numbers", State)


def test_set_none_and_delete_remove_keys(kv: KVStore) -> None:
    kv.set("a", 1)
    kv.set("a", None)
    assert kv.get("a") is None
    kv.set("b", 2)
    kv.delete("b")
    kv.delete("never-existed")
    assert kv.list_keys() == []


def test_expiry_in_whole_seconds(kv: KVStore, mm_fake: FakeAPI) -> None:
    kv.set("session", "x", expire_in=timedelta(seconds=30))
    mm_fake.advance_time(29)
    assert kv.get("session") == "x"
    mm_fake.advance_time(2)
    assert kv.get("session") is None
    with pytest.raises(ValueError, match="at least one second"):
        kv.set("quick", 1, expire_in=timedelta(milliseconds=500))


def test_set_atomic_compares_encoded_values(kv: KVStore) -> None:
    assert kv.set_atomic("n", None, 1) is True  # only if absent
    assert kv.set_atomic("n", None, 2) is False
    assert kv.set_atomic("n", 5, 2) is False
    assert kv.set_atomic("n", 1, {"v": 2}) is True
    assert kv.set_atomic("n", {"v": 2}, None) is True  # compare-and-delete
    assert kv.get("n") is None


def test_set_atomic_with_retries_survives_concurrent_writers(kv: KVStore) -> None:
    def bump() -> None:
        for _ in range(20):
            kv.set_atomic_with_retries("counter", lambda old: (old or 0) + 1, retries=1000)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert kv.get("counter") == 80


def test_set_atomic_with_retries_gives_up_with_a_clear_error(kv: KVStore, mm_fake: FakeAPI) -> None:
    calls = 0

    def meddle(old: object) -> int:
        nonlocal calls
        calls += 1
        mm_fake.kv_set("contended", str(calls).encode())  # another writer wins every time
        return 1

    with pytest.raises(AtomicUpdateError, match="changed during each of 5 attempts"):
        kv.set_atomic_with_retries("contended", meddle)
    assert calls == 5


def test_update_function_errors_propagate(kv: KVStore) -> None:
    def fail(old: object) -> object:
        raise LookupError("no such thing")

    with pytest.raises(LookupError, match="no such thing"):
        kv.set_atomic_with_retries("k", fail)


def test_list_keys_pages_through_kv_list_and_filters_by_prefix(kv: KVStore) -> None:
    for i in range(25):
        kv.set(f"user:{i:02d}", i)
    kv.set("other", 1)
    keys = kv.list_keys(prefix="user:", page_size=10)
    assert keys == [f"user:{i:02d}" for i in range(25)]
    assert kv.list_keys(page_size=7) == sorted([*keys, "other"])


def test_reserved_prefix_and_server_key_limits(kv: KVStore) -> None:
    with pytest.raises(ValueError, match="'mmi_' prefix is reserved"):
        kv.set("mmi_bot", 1)
    with pytest.raises(BadRequestError, match="Invalid key"):
        kv.set("k" * 151, 1)


async def test_async_store_has_the_same_behaviour(mm_fake: FakeAPI) -> None:
    akv = AsyncKVStore(FakeAsyncAPI(mm_fake))
    await akv.set("doc", {"n": 1}, expire_in=60)
    assert await akv.get("doc") == {"n": 1}
    assert await akv.get_as("doc", dict[str, int]) == {"n": 1}
    assert await akv.set_atomic("doc", {"n": 1}, {"n": 2}) is True

    async def bump(old: dict[str, int]) -> dict[str, int]:
        return {"n": old["n"] + 1}

    assert await akv.set_atomic_with_retries("doc", bump) == {"n": 3}
    assert await akv.list_keys(prefix="d") == ["doc"]
    await akv.delete_all()
    assert await akv.get_bytes("doc") is None
