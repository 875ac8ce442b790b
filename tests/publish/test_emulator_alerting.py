"""The emulator's alerting provisioning API: rules, rule groups, contact points, policies
(grafana/grafana: pkg/services/ngalert/api/api_provisioning.go)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.grafana_emulator import GrafanaEmulator, Token
from tests.support.grafana_emulator.client import Answer, call
from tests.support.grafana_emulator.rendered import contact_point, policy, rule

TOKEN = "glsa_alert_admin"
PROV = "/api/v1/provisioning"
GROUP_PATH = f"{PROV}/folder/chat/rule-groups/chat"


@pytest.fixture
def grafana() -> Iterator[GrafanaEmulator]:
    with GrafanaEmulator(tokens=[Token(TOKEN)]) as emulator:
        call(emulator.url, "POST", "/api/folders", {"uid": "chat", "title": "Chat"}, token=TOKEN)
        yield emulator


def api(grafana: GrafanaEmulator, method: str, path: str, body: Any = None, **headers: str) -> Answer:
    return call(grafana.url, method, path, body, token=TOKEN, headers=headers)


def put_group(
    grafana: GrafanaEmulator, rules: list[dict[str, Any]], interval: int = 60, **headers: str
) -> Answer:
    return api(grafana, "PUT", GROUP_PATH, {"interval": interval, "rules": rules}, **headers)


def test_rule_group_put_get_and_normalisation(grafana: GrafanaEmulator) -> None:
    missing = api(grafana, "GET", GROUP_PATH)
    assert (missing.status, missing.json["messageId"], missing.json["message"]) == (
        404,
        "alerting.alert-rule.notFound",
        "NotFound",
    )
    sent = [rule("r1", "Rule one", "ignored"), rule("r2", "Rule two", "ignored")]
    answer = put_group(grafana, sent)
    assert answer.status == 200
    assert (answer.json["title"], answer.json["folderUid"]) == ("chat", "chat")  # echo, path wins
    group = api(grafana, "GET", GROUP_PATH).json
    assert (group["title"], group["folderUid"], group["interval"]) == ("chat", "chat", 60)
    first = group["rules"][0]
    assert [r["uid"] for r in group["rules"]] == ["r1", "r2"]
    assert (first["ruleGroup"], first["folderUID"], first["orgID"], first["provenance"]) == (
        "chat",
        "chat",
        1,
        "api",
    )
    assert first["for"] == "1m"  # "60s" round-trips through model.Duration
    assert first["data"][1]["model"]["intervalMs"] == 1000  # query-model defaults are added
    assert first["keep_firing_for"] == "0s" and first["notification_settings"] is None
    single = api(grafana, "GET", f"{PROV}/alert-rules/r1").json
    assert single["id"] == first["id"] and "updated" in single
    put_group(grafana, [sent[1]])  # replacing the group deletes the rule left out
    empty = api(grafana, "GET", f"{PROV}/alert-rules/r1")
    assert (empty.status, empty.text) == (404, "")


def test_disable_provenance_header(grafana: GrafanaEmulator) -> None:
    put_group(grafana, [rule("r1", "Rule one", "chat")], **{"X-Disable-Provenance": "false"})
    assert "provenance" not in api(grafana, "GET", f"{PROV}/alert-rules/r1").json
    put_group(grafana, [rule("r1", "Rule one", "chat")])  # none -> api is allowed
    assert api(grafana, "GET", f"{PROV}/alert-rules/r1").json["provenance"] == "api"
    body = {**rule("r1", "Rule one", "chat")}
    refused = api(grafana, "PUT", f"{PROV}/alert-rules/r1", body, **{"X-Disable-Provenance": "true"})
    assert (refused.status, refused.json["message"]) == (500, "cannot change provenance from 'api' to ''")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"noDataState": ""}, "invalid alert rule: unknown NoData state option "),
        ({"execErrState": "Bad"}, "invalid alert rule: unknown Error state option Bad"),
        ({"title": ""}, "invalid alert rule: title is empty"),
        ({"data": []}, "invalid alert rule: no queries or expressions are found"),
        (
            {"annotations": {"__panelId__": "1"}},
            "invalid alert rule: cannot have Panel ID without a Dashboard UID",
        ),
        (
            {"labels": {"__grafana_receiver__": "x"}},
            "invalid alert rule: system reserved label __grafana_receiver__ cannot be defined",
        ),
        ({"title": "t" * 191}, "invalid alert rule: name length should not be greater than 190"),
        (
            {"uid": "bad uid"},
            "invalid alert rule\ncannot create rule with UID 'bad uid': uid contains illegal characters",
        ),
        (
            {"notification_settings": {"receiver": "nobody"}},
            "invalid alert rule\ninvalid notification settings: receiver 'nobody' does not exist",
        ),
    ],
)
def test_rule_validation_messages(grafana: GrafanaEmulator, change: dict[str, Any], message: str) -> None:
    answer = put_group(grafana, [{**rule("r1", "Rule one", "chat"), **change}])
    assert (answer.status, answer.json["message"]) == (400, message)
    assert api(grafana, "GET", GROUP_PATH).status == 404  # nothing stored


def test_group_interval_and_decoding(grafana: GrafanaEmulator) -> None:
    answer = put_group(grafana, [rule("r1", "Rule one", "chat")], interval=65)
    assert answer.json["message"] == (
        "invalid alert rule: interval (1m5s) should be non-zero and divided exactly by scheduler interval: 10"
    )
    bad_for = put_group(grafana, [{**rule("r1", "Rule one", "chat"), "for": 60}])
    assert (bad_for.status, bad_for.json["message"]) == (400, "bad request data")
    unknown_folder = api(grafana, "PUT", f"{PROV}/folder/nope/rule-groups/g", {"interval": 60, "rules": []})
    assert unknown_folder.json["message"] == "invalid alert rule: folder does not exist"


def test_v10_accepts_rules_in_unknown_folders_but_group_api_fails() -> None:
    with GrafanaEmulator(profile="v10", tokens=[Token(TOKEN)]) as v10:
        created = call(
            v10.url, "POST", f"{PROV}/alert-rules", {**rule("r1", "R", "g"), "folderUID": "nope"}, token=TOKEN
        )
        assert created.status == 201
        group = call(v10.url, "GET", f"{PROV}/folder/nope/rule-groups/g", token=TOKEN)
        assert (group.status, group.json["message"]) == (400, "bad request data")


def test_single_rule_endpoints_and_conflicts(grafana: GrafanaEmulator) -> None:
    created = api(grafana, "POST", f"{PROV}/alert-rules", rule("r1", "Rule one", "chat"))
    assert (created.status, created.json["uid"]) == (201, "r1")
    duplicate = api(grafana, "POST", f"{PROV}/alert-rules", rule("r1", "Another", "chat"))
    assert (duplicate.status, duplicate.json["messageId"]) == (409, "alerting.alert-rule.conflict")
    same_title = api(grafana, "POST", f"{PROV}/alert-rules", rule("r2", "Rule one", "chat"))
    assert same_title.status == 400
    assert same_title.json["message"].endswith(
        "rule title under the same organisation and folder should be unique"
    )
    not_found = api(grafana, "PUT", f"{PROV}/alert-rules/zzz", rule("zzz", "Z", "chat"))
    assert (not_found.status, not_found.text) == (404, "")
    assert api(grafana, "DELETE", f"{PROV}/alert-rules/r1").status == 204
    assert api(grafana, "DELETE", f"{PROV}/alert-rules/r1").status == 204  # idempotent
    assert api(grafana, "GET", f"{PROV}/alert-rules").json == []


def test_contact_points_redact_secrets_and_keep_them(grafana: GrafanaEmulator) -> None:
    point = contact_point()
    point["settings"]["authorization_credentials"] = "s3cret"
    created = api(grafana, "POST", f"{PROV}/contact-points", point)
    assert created.status == 202
    listed = {p["uid"]: p for p in api(grafana, "GET", f"{PROV}/contact-points").json}
    assert listed["chat-webhook"]["settings"]["authorization_credentials"] == "[REDACTED]"
    assert "grafana-default-email" in {p["name"] for p in listed.values()}
    assert "s3cret" not in api(grafana, "GET", f"{PROV}/contact-points?name=chat-webhook").text
    redacted = copy.deepcopy(listed["chat-webhook"])
    updated = api(grafana, "PUT", f"{PROV}/contact-points/chat-webhook", redacted)
    assert (updated.status, updated.json) == (202, {"message": "contactpoint updated"})
    stored = next(p for p in grafana.alerting.contact_points[1] if p["uid"] == "chat-webhook")
    assert stored["settings"]["authorization_credentials"] == "s3cret"  # "[REDACTED]" keeps the secret
    no_url = api(grafana, "POST", f"{PROV}/contact-points", {**point, "uid": "x", "settings": {}})
    assert (no_url.status, no_url.json["message"]) == (
        400,
        "invalid object specification: required field 'url' is not specified",
    )
    missing = api(grafana, "PUT", f"{PROV}/contact-points/none", point)
    assert (missing.status, missing.json["message"]) == (404, "object not found")


def test_policy_tree_and_references(grafana: GrafanaEmulator) -> None:
    unknown = api(grafana, "PUT", f"{PROV}/policies", policy())
    assert (unknown.status, unknown.json["message"]) == (
        400,
        "invalid object specification: receiver 'chat-webhook' does not exist",
    )
    point = {**contact_point(), "settings": {**contact_point()["settings"], "authorization_credentials": "t"}}
    api(grafana, "POST", f"{PROV}/contact-points", point)
    answer = api(grafana, "PUT", f"{PROV}/policies", policy())
    assert (answer.status, answer.json) == (202, {"message": "policies updated"})
    tree = api(grafana, "GET", f"{PROV}/policies").json
    assert (tree["receiver"], tree["provenance"], tree["routes"][0]["group_interval"]) == (
        "chat-webhook",
        "api",
        "1m",
    )
    referenced = api(grafana, "DELETE", f"{PROV}/contact-points/chat-webhook")
    assert (referenced.status, referenced.json["messageId"]) == (
        409,
        "alerting.notifications.contact-points.referenced",
    )
    reset = api(grafana, "DELETE", f"{PROV}/policies")
    assert (reset.status, reset.json["receiver"]) == (202, "grafana-default-email")
    deleted = api(grafana, "DELETE", f"{PROV}/contact-points/chat-webhook")
    assert (deleted.status, deleted.json) == (202, {"message": "contactpoint deleted"})


def test_folder_with_rules_needs_force(grafana: GrafanaEmulator) -> None:
    put_group(grafana, [rule("r1", "Rule one", "chat")])
    refused = api(grafana, "DELETE", "/api/folders/chat")
    assert (refused.status, refused.json["message"]) == (400, "folder contains alert rules")
    assert api(grafana, "DELETE", "/api/folders/chat?forceDeleteRules=true").status == 200
    assert api(grafana, "GET", f"{PROV}/alert-rules").json == []


@pytest.mark.parametrize(
    "change",
    [
        {"title": 5},  # Go string field
        {"isPaused": "false"},  # Go bool field
        {"labels": {"severity": 1}},  # map[string]string
        {"missingSeriesEvalsToResolve": 2.5},  # *int
        {"data": [{"refId": "A", "relativeTimeRange": {"from": "600", "to": 0}, "model": {}}]},
    ],
)
def test_wrongly_typed_rule_fields_fail_decoding(grafana: GrafanaEmulator, change: dict[str, Any]) -> None:
    answer = put_group(grafana, [{**rule("r1", "Rule one", "chat"), **change}])
    assert (answer.status, answer.json["message"]) == (400, "bad request data")


def test_group_interval_missing_or_mistyped(grafana: GrafanaEmulator) -> None:
    missing = api(grafana, "PUT", GROUP_PATH, {"rules": [rule("r1", "Rule one", "chat")]})
    assert missing.json["message"] == (
        "invalid alert rule: interval (0s) should be non-zero and divided exactly by scheduler interval: 10"
    )
    assert put_group(grafana, [rule("r1", "Rule one", "chat")], interval="60").json == {  # type: ignore[arg-type]
        "message": "bad request data",
        "traceID": "",
    }


def test_stored_query_follows_presave(grafana: GrafanaEmulator) -> None:
    """The model's queryType is copied onto the query, non-positive model defaults are replaced."""
    loki = rule("r1", "Rule one", "chat")
    loki["data"][0]["model"].update(queryType="instant", intervalMs=0)
    assert put_group(grafana, [loki]).status == 200
    stored = api(grafana, "GET", f"{PROV}/alert-rules/r1").json["data"]
    assert (stored[0]["queryType"], stored[0]["model"]["intervalMs"]) == ("instant", 1000)
    assert stored[1]["queryType"] == ""


def test_recording_rules_are_refused(grafana: GrafanaEmulator) -> None:
    recording = {**rule("r1", "Rule one", "chat"), "record": {"metric": "m", "from": "A"}}
    answer = put_group(grafana, [recording])
    assert (answer.status, answer.json["message"]) == (
        400,
        "invalid alert rule: recording rules cannot be created on this instance",
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"{PROV}/contact-points", {**contact_point(), "disableResolveMessage": "no"}),
        (f"{PROV}/policies", {**policy(), "object_matchers": [["severity", "==", "critical"]]}),
        (f"{PROV}/policies", {**policy(), "group_by": "alertname"}),
    ],
)
def test_notification_bodies_are_typed(grafana: GrafanaEmulator, path: str, body: dict[str, Any]) -> None:
    method = "POST" if path.endswith("contact-points") else "PUT"
    answer = api(grafana, method, path, body)
    assert (answer.status, answer.json["message"]) == (400, "bad request data")


def test_group_delete_may_drop_api_provenance(grafana: GrafanaEmulator) -> None:
    """CanUpdateProvenanceInRuleGroup allows api -> none for groups, unlike the single-rule endpoints."""
    put_group(grafana, [rule("r1", "Rule one", "chat")])
    assert api(grafana, "DELETE", f"{PROV}/alert-rules/r1", **{"X-Disable-Provenance": "true"}).status == 500
    deleted = api(grafana, "DELETE", GROUP_PATH, **{"X-Disable-Provenance": "true"})
    assert deleted.status == 204
    assert api(grafana, "GET", f"{PROV}/alert-rules").json == []


def test_contact_points_are_listed_by_name(grafana: GrafanaEmulator) -> None:
    for uid, name in (("z", "zulu"), ("a", "alpha")):
        point = {**contact_point(), "uid": uid, "name": name}
        assert api(grafana, "POST", f"{PROV}/contact-points", point).status == 202
    names = [p["name"] for p in api(grafana, "GET", f"{PROV}/contact-points").json]
    assert names == sorted(names) and names[0] == "alpha"


def test_group_in_a_missing_folder_reads_as_not_found(grafana: GrafanaEmulator) -> None:
    missing = api(grafana, "GET", f"{PROV}/folder/nope/rule-groups/g")
    assert (missing.status, missing.json["messageId"]) == (404, "alerting.alert-rule.notFound")


def test_noop_group_put_keeps_rules_untouched(grafana: GrafanaEmulator) -> None:
    put_group(grafana, [rule("r1", "Rule one", "chat")])
    before = api(grafana, "GET", f"{PROV}/alert-rules/r1").json
    assert put_group(grafana, [rule("r1", "Rule one", "chat")]).status == 200
    assert api(grafana, "GET", f"{PROV}/alert-rules/r1").json["updated"] == before["updated"]
    put_group(grafana, [{**rule("r1", "Rule one", "chat"), "for": "5m"}])
    assert api(grafana, "GET", f"{PROV}/alert-rules/r1").json["updated"] != before["updated"]


def test_single_rule_put_moves_it_to_the_named_group(grafana: GrafanaEmulator) -> None:
    put_group(grafana, [rule("r1", "Rule one", "chat"), rule("r2", "Rule two", "chat")], interval=30)
    moved = api(grafana, "PUT", f"{PROV}/alert-rules/r1", rule("r1", "Rule one", "other"))
    assert (moved.status, moved.json["ruleGroup"]) == (200, "other")
    other = api(grafana, "GET", f"{PROV}/folder/chat/rule-groups/other").json
    assert ([r["uid"] for r in other["rules"]], other["interval"]) == (["r1"], 30)  # keeps its interval
    assert [r["uid"] for r in api(grafana, "GET", GROUP_PATH).json["rules"]] == ["r2"]
