"""The emulator's folders, dashboards, versions and search, both profiles (grafana/grafana:
pkg/api/dashboard.go, pkg/api/folder.go, pkg/api/search.go)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.grafana_emulator import GrafanaEmulator, Token
from tests.support.grafana_emulator.client import Answer, call

TOKEN = "glsa_dash_admin"


@pytest.fixture
def grafana() -> Iterator[GrafanaEmulator]:
    with GrafanaEmulator(tokens=[Token(TOKEN)]) as emulator:
        yield emulator


@pytest.fixture
def grafana_v10() -> Iterator[GrafanaEmulator]:
    with GrafanaEmulator(profile="v10", tokens=[Token(TOKEN)]) as emulator:
        yield emulator


def api(grafana: GrafanaEmulator, method: str, path: str, body: Any = None) -> Answer:
    return call(grafana.url, method, path, body, token=TOKEN)


def save(grafana: GrafanaEmulator, dashboard: dict[str, Any], **envelope: Any) -> Answer:
    return api(grafana, "POST", "/api/dashboards/db", {"dashboard": dashboard, **envelope})


def test_folder_lifecycle(grafana: GrafanaEmulator) -> None:
    created = api(grafana, "POST", "/api/folders", {"uid": "chat", "title": "Chat"})
    assert created.status == 200
    assert {k: created.json[k] for k in ("uid", "title", "url", "version")} == {
        "uid": "chat",
        "title": "Chat",
        "url": "/dashboards/f/chat/chat",
        "version": 1,
    }
    stale = api(grafana, "PUT", "/api/folders/chat", {"title": "Chat 2"})
    assert (stale.status, stale.json) == (
        412,
        {"status": "version-mismatch", "message": "the folder has been changed by someone else"},
    )
    updated = api(grafana, "PUT", "/api/folders/chat", {"title": "Chat 2", "version": 1})
    assert (updated.status, updated.json["version"]) == (200, 2)
    missing = api(grafana, "GET", "/api/folders/none")
    assert (missing.status, missing.json) == (404, {"status": "not-found", "message": "folder not found"})
    assert api(grafana, "DELETE", "/api/folders/chat").json == {"message": "Folder deleted"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"title": ""}, "folder title cannot be empty"),
        ({"title": "T", "uid": "bad uid"}, "uid contains illegal characters"),
        ({"title": "T", "uid": "x" * 41}, "uid too long, max 40 characters"),
        ({"title": "T", "uid": "general"}, "invalid uid for folder provided"),
    ],
)
def test_folder_create_validation(grafana: GrafanaEmulator, body: dict[str, Any], message: str) -> None:
    answer = api(grafana, "POST", "/api/folders", body)
    assert (answer.status, answer.json["message"]) == (400, message)


def test_folder_uid_taken_depends_on_profile(grafana: GrafanaEmulator, grafana_v10: GrafanaEmulator) -> None:
    for emulator in (grafana, grafana_v10):
        assert api(emulator, "POST", "/api/folders", {"uid": "f", "title": "F"}).status == 200
    assert api(grafana, "POST", "/api/folders", {"uid": "f", "title": "Other"}).status == 409
    v10 = api(grafana_v10, "POST", "/api/folders", {"uid": "f", "title": "Other"})
    assert (v10.status, v10.json["status"]) == (412, "version-mismatch")
    same_title = api(grafana_v10, "POST", "/api/folders", {"uid": "g", "title": "F"})
    assert same_title.status == 409
    assert api(grafana, "POST", "/api/folders", {"uid": "g", "title": "F"}).status == 200  # 11.3+: allowed


def test_dashboard_save_versions_and_meta(grafana: GrafanaEmulator) -> None:
    api(grafana, "POST", "/api/folders", {"uid": "chat", "title": "Chat"})
    first = save(grafana, {"uid": "d1", "title": "CPU / Memory", "x": 1}, folderUid="chat", message="first")
    assert first.status == 200
    assert first.json == {
        "id": first.json["id"],
        "uid": "d1",
        "url": "/d/d1/cpu-2f-memory",
        "status": "success",
        "version": 1,
        "slug": "cpu-2f-memory",
        "folderUid": "chat",
    }
    conflict = save(grafana, {"uid": "d1", "title": "CPU / Memory", "x": 2}, folderUid="chat")
    assert (conflict.status, conflict.json) == (
        412,
        {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"},
    )
    second = save(
        grafana, {"uid": "d1", "title": "CPU / Memory", "x": 2, "version": 1}, folderUid="chat", message="m2"
    )
    assert second.json["version"] == 2
    third = save(grafana, {"uid": "d1", "title": "CPU / Memory", "x": 3}, folderUid="chat", overwrite=True)
    assert third.json["version"] == 3
    got = api(grafana, "GET", "/api/dashboards/uid/d1").json
    assert (
        got["dashboard"]["x"] == 3
        and got["dashboard"]["version"] == 3
        and got["dashboard"]["id"] == first.json["id"]
    )
    assert {k: got["meta"][k] for k in ("folderUid", "folderTitle", "version", "slug", "createdBy")} == {
        "folderUid": "chat",
        "folderTitle": "Chat",
        "version": 3,
        "slug": "cpu-2f-memory",
        "createdBy": "sa-1-publisher",
    }
    history = api(grafana, "GET", "/api/dashboards/uid/d1/versions").json
    assert history["continueToken"] == ""
    assert [(v["version"], v["parentVersion"], v["message"]) for v in history["versions"]] == [
        (3, 2, ""),
        (2, 1, "m2"),
        (1, 0, "Initial save"),
    ]
    assert all(v["data"] is None for v in history["versions"])
    version_two = api(grafana, "GET", "/api/dashboards/uid/d1/versions/2").json
    assert version_two["data"]["x"] == 2
    assert api(grafana, "GET", "/api/dashboards/uid/d1/versions/9").status == 500


@pytest.mark.parametrize(
    ("dashboard", "envelope", "status", "body"),
    [
        (
            {"uid": "a", "title": " "},
            {},
            400,
            {"message": "Dashboard title cannot be empty", "status": "empty-name"},
        ),
        (
            {"uid": "a", "title": "T"},
            {"message": "m" * 501},
            400,
            {"message": "message too long, max 500 characters"},
        ),
        ({"uid": "a b", "title": "T"}, {}, 400, {"message": "uid contains illegal characters"}),
        ({"uid": "a" * 41, "title": "T"}, {}, 400, {"message": "uid too long, max 40 characters"}),
        ({"uid": "a", "title": "T"}, {"folderUid": "nope"}, 400, {"message": "folder not found"}),
        ({"uid": "a", "title": "T"}, {"folderId": 999}, 404, {"message": "Folder not found", "traceID": ""}),
        (
            {"id": 999, "uid": "a", "title": "T"},
            {},
            404,
            {"message": "Dashboard not found", "status": "not-found"},
        ),
        (
            {"uid": "a", "title": "T"},
            {"isFolder": True},
            400,
            {"message": "Use folders endpoint for saving folders."},
        ),
        (
            {"uid": "a", "title": "x" * 5001},
            {},
            400,
            {
                "message": "Dashboard title cannot contain more than 5 000 characters",
                "status": "title-too-long",
            },
        ),
    ],
)
def test_dashboard_save_errors(
    grafana: GrafanaEmulator,
    dashboard: dict[str, Any],
    envelope: dict[str, Any],
    status: int,
    body: dict[str, Any],
) -> None:
    answer = save(grafana, dashboard, **envelope)
    assert (answer.status, answer.json) == (status, body)
    assert grafana.writes == 0


def test_validation_order_title_before_uid(grafana: GrafanaEmulator) -> None:
    answer = save(grafana, {"uid": "bad uid", "title": ""}, folderUid="nope")
    assert answer.json["status"] == "empty-name"
    assert api(grafana, "POST", "/api/dashboards/db", {"no": "dashboard"}).json == {
        "message": "bad request data"
    }
    bad_json = call(grafana.url, "POST", "/api/dashboards/db", token=TOKEN, raw_body=b"{not json")
    assert (bad_json.status, bad_json.json) == (400, {"message": "bad request data"})


def test_uid_of_a_folder_cannot_become_a_dashboard(grafana: GrafanaEmulator) -> None:
    api(grafana, "POST", "/api/folders", {"uid": "f", "title": "F"})
    answer = save(grafana, {"uid": "f", "title": "T"})
    assert (answer.status, answer.json["message"]) == (400, "Dashboard cannot be changed to a folder")
    assert (
        api(grafana, "DELETE", "/api/dashboards/uid/f").json["message"]
        == "Use folders endpoint for deleting folders."
    )


def test_title_uniqueness_only_in_v10(grafana: GrafanaEmulator, grafana_v10: GrafanaEmulator) -> None:
    for emulator in (grafana, grafana_v10):
        assert save(emulator, {"uid": "one", "title": "Same"}).status == 200
        api(emulator, "POST", "/api/folders", {"uid": "fold", "title": "Folder Name"})
    assert save(grafana, {"uid": "two", "title": "Same"}).status == 200
    clash = save(grafana_v10, {"uid": "two", "title": "Same"})
    assert (clash.status, clash.json["status"]) == (412, "name-exists")
    as_folder = save(grafana_v10, {"uid": "three", "title": "Folder Name"})
    assert (as_folder.status, as_folder.json["status"]) == (400, "name-match")
    taken_over = save(grafana_v10, {"uid": "two", "title": "Same"}, overwrite=True)
    assert (taken_over.json["uid"], taken_over.json["version"]) == ("one", 2)  # your uid is discarded


def test_profiles_differ_in_delete_and_history(
    grafana: GrafanaEmulator, grafana_v10: GrafanaEmulator
) -> None:
    for emulator in (grafana, grafana_v10):
        save(emulator, {"uid": "d", "title": "Gone"})
    assert isinstance(api(grafana_v10, "GET", "/api/dashboards/uid/d/versions").json, list)
    assert "folderUid" not in save(grafana_v10, {"uid": "e", "title": "E"}).json
    assert api(grafana, "DELETE", "/api/dashboards/uid/d").json == {
        "title": "Gone",
        "message": "Dashboard Gone deleted",
        "uid": "d",
    }
    v10 = api(grafana_v10, "DELETE", "/api/dashboards/uid/d").json
    assert set(v10) == {"title", "message", "id"}
    assert api(grafana, "DELETE", "/api/dashboards/uid/d").status == 404


def test_deleting_a_folder_deletes_its_dashboards(grafana: GrafanaEmulator) -> None:
    api(grafana, "POST", "/api/folders", {"uid": "f", "title": "F"})
    save(grafana, {"uid": "inside", "title": "Inside"}, folderUid="f")
    api(grafana, "DELETE", "/api/folders/f")
    assert api(grafana, "GET", "/api/dashboards/uid/inside").status == 404


def test_search_filters_and_order(grafana: GrafanaEmulator) -> None:
    api(grafana, "POST", "/api/folders", {"uid": "chat", "title": "Chat"})
    save(grafana, {"uid": "b", "title": "beta", "tags": ["chat", "x"]}, folderUid="chat")
    save(grafana, {"uid": "a", "title": "Alpha", "tags": ["chat"]})
    hits = api(grafana, "GET", "/api/search").json
    assert [(h["uid"], h["type"]) for h in hits] == [
        ("chat", "dash-folder"),
        ("a", "dash-db"),
        ("b", "dash-db"),
    ]
    assert "folderUid" not in hits[1] and hits[2]["folderUid"] == "chat" and hits[2]["folderTitle"] == "Chat"
    assert [h["uid"] for h in api(grafana, "GET", "/api/search?folderUIDs=chat").json] == ["b"]
    assert [h["uid"] for h in api(grafana, "GET", "/api/search?folderUIDs=general&type=dash-db").json] == [
        "a"
    ]
    assert [h["uid"] for h in api(grafana, "GET", "/api/search?tag=chat&tag=x").json] == ["b"]
    assert [h["uid"] for h in api(grafana, "GET", "/api/search?query=ALP").json] == ["a"]
    assert [h["uid"] for h in api(grafana, "GET", "/api/search?type=dash-db&limit=1&page=2").json] == ["b"]
    too_many = api(grafana, "GET", "/api/search?limit=5001")
    assert too_many.status == 422
    mixed = api(grafana, "GET", "/api/search?folderIds=1&folderUIDs=chat")
    assert (mixed.status, mixed.json["message"]) == (400, "search supports UIDs or IDs, not both")


@pytest.mark.parametrize(
    "envelope",
    [{"overwrite": "false"}, {"folderUid": 7}, {"message": ["m"]}, {"folderId": 1.5}],
)
def test_save_envelope_fields_are_typed(grafana: GrafanaEmulator, envelope: dict[str, Any]) -> None:
    answer = save(grafana, {"uid": "a", "title": "T"}, **envelope)
    assert (answer.status, answer.json) == (400, {"message": "bad request data"})
    assert grafana.writes == 0


def test_non_string_title_reads_as_empty(grafana: GrafanaEmulator) -> None:
    """The dashboard JSON is untyped (simplejson MustString): a numeric title is an empty title."""
    answer = save(grafana, {"uid": "a", "title": 5})
    assert (answer.status, answer.json["status"]) == (400, "empty-name")


def test_folder_bodies_are_typed(grafana: GrafanaEmulator) -> None:
    assert api(grafana, "POST", "/api/folders", {"uid": 1, "title": "T"}).json == {
        "message": "bad request data"
    }
    api(grafana, "POST", "/api/folders", {"uid": "f", "title": "F"})
    mistyped = api(grafana, "PUT", "/api/folders/f", {"title": "G", "version": "1"})
    assert (mistyped.status, mistyped.json) == (400, {"message": "bad request data"})


def test_restore_a_version(grafana: GrafanaEmulator) -> None:
    save(grafana, {"uid": "d", "title": "First", "x": 1})
    save(grafana, {"uid": "d", "title": "Second", "x": 2, "version": 1})
    restored = api(grafana, "POST", "/api/dashboards/uid/d/restore", {"version": 1})
    assert (restored.status, restored.json["version"], restored.json["url"]) == (200, 3, "/d/d/first")
    assert api(grafana, "GET", "/api/dashboards/uid/d").json["dashboard"]["x"] == 1
    newest = api(grafana, "GET", "/api/dashboards/uid/d/versions").json["versions"][0]
    assert (newest["version"], newest["restoredFrom"], newest["message"]) == (3, 1, "Restored from version 1")
    missing = api(grafana, "POST", "/api/dashboards/uid/d/restore", {"version": 9})
    assert (missing.status, missing.json) == (404, {"message": "Dashboard version not found"})


def test_nested_folders_stop_at_the_maximum_depth(grafana: GrafanaEmulator) -> None:
    parent = ""
    for depth in range(8):
        answer = api(grafana, "POST", "/api/folders", {"uid": f"f{depth}", "title": "F", "parentUid": parent})
        assert answer.status == 200, (depth, answer.json)
        parent = f"f{depth}"
    too_deep = api(grafana, "POST", "/api/folders", {"uid": "f8", "title": "F", "parentUid": parent})
    assert (too_deep.status, too_deep.json["messageId"], too_deep.json["message"]) == (
        400,
        "folder.maximum-depth-reached",
        "Maximum nested folder depth reached",
    )


def test_unknown_method_is_an_api_404(grafana: GrafanaEmulator) -> None:
    answer = api(grafana, "PATCH", "/api/dashboards/db", {})
    assert (answer.status, answer.json) == (404, {"message": "Not found"})


def test_refresh_below_the_minimum_is_raised(grafana: GrafanaEmulator) -> None:
    save(grafana, {"uid": "fast", "title": "Fast", "refresh": "1s"})
    save(grafana, {"uid": "slow", "title": "Slow", "refresh": "30s"})
    assert api(grafana, "GET", "/api/dashboards/uid/fast").json["dashboard"]["refresh"] == "5s"
    assert api(grafana, "GET", "/api/dashboards/uid/slow").json["dashboard"]["refresh"] == "30s"
