"""The runner's normalization and comparison, without a server."""

from __future__ import annotations

from confrun import compare

GO_USER = {"id": "a" * 26, "username": "u0123456789", "create_at": 5}
PY_USER = {"id": "b" * 26, "username": "u9876543210", "create_at": 7}


def test_fixture_values_new_ids_and_times_are_mapped() -> None:
    go = {"result": [{"id": "c" * 26, "user_id": "a" * 26, "create_at": 11, "delete_at": 0}]}
    py = {"result": [{"id": "d" * 26, "user_id": "b" * 26, "create_at": 12, "delete_at": 0}]}
    go_n = compare.normalize(go, {"user": GO_USER}, ())
    py_n = compare.normalize(py, {"user": PY_USER}, ())
    assert (
        go_n
        == py_n
        == {
            "result": [
                {"id": "<new:1>", "user_id": "<user.id>", "create_at": "<time>", "delete_at": 0}
            ]
        }
    )


def test_a_different_value_is_reported_with_its_path() -> None:
    diffs = compare.differences(
        {"result": [{"a": 1, "b": [1, 2]}]}, {"result": [{"a": 1, "b": [1, 3]}]}
    )
    assert diffs == [("result.0.b.1", 2, 3)]


def test_nil_and_empty_differ_inside_values_but_not_as_a_top_level_result() -> None:
    assert compare.differences({"result": [None]}, {"result": [[]]}) == []
    assert compare.differences({"result": [{"x": None}]}, {"result": [{"x": []}]}) == [
        ("result.0.x", None, [])
    ]


def test_a_missing_field_is_a_difference() -> None:
    assert compare.differences({"a": 1}, {}) == [("a", 1, "<missing>")]


def test_ids_inside_strings_and_plugin_ids_are_mapped() -> None:
    values = {"plugin": {"id": "com.example.go"}}
    n = compare.normalize({"result": [f"com.example.go id={'e' * 26}"]}, values, ())
    assert n == {"result": ["<plugin.id> id=<new:1>"]}


def test_ignored_and_unordered_paths() -> None:
    answer = {"result": [[{"n": 2}, {"n": 1}], "secret"]}
    n = compare.normalize(answer, {}, ("result.1",), ("result.0",))
    assert n == {"result": [[{"n": 1}, {"n": 2}], "<ignored>"]}


def test_outcome_mode_keeps_only_the_error_identity() -> None:
    err = {"error": {"kind": "app_error", "status_code": 404, "id": "x", "message": "m"}}
    assert compare.outcome(err) == {"error": ["app_error", 404, "x"]}
    assert compare.outcome({"result": [1]}) == {"result": "ok"}
