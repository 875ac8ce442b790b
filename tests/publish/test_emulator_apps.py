"""The emulator's app-platform API is as strict as Grafana 13's (and as its legacy API): optimistic locks,
unknown fields, namespaces, dry runs, generations, managers, schema v2 reads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.grafana_emulator import GrafanaEmulator, Token
from tests.support.grafana_emulator.client import call

TOKEN = "glsa_admin"
DASHBOARDS = "/apis/dashboard.grafana.app/v1beta1/namespaces/default/dashboards"


@pytest.fixture
def grafana() -> Iterator[GrafanaEmulator]:
    with GrafanaEmulator(profile="v13", tokens=[Token(TOKEN), Token("glsa_org2", org_id=2)]) as emulator:
        yield emulator


def resource(name: str = "d", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "dashboard.grafana.app/v1beta1",
        "kind": "Dashboard",
        "metadata": {"name": name, "annotations": {}},
        "spec": {"title": "D", "panels": [], **spec},
    }


def created(grafana: GrafanaEmulator) -> dict[str, Any]:
    answer = call(grafana.url, "POST", DASHBOARDS, resource(), token=TOKEN)
    assert answer.status == 201, answer.text
    return answer.json


def test_discovery_lists_the_groups_and_versions(grafana: GrafanaEmulator) -> None:
    groups = {g["name"]: g for g in call(grafana.url, "GET", "/apis", token=TOKEN).json["groups"]}
    assert {v["version"] for v in groups["dashboard.grafana.app"]["versions"]} >= {"v1beta1", "v2beta1"}
    assert groups["folder.grafana.app"]["preferredVersion"]["version"] == "v1beta1"
    with GrafanaEmulator(tokens=[Token(TOKEN)]) as eleven:
        assert call(eleven.url, "GET", "/apis", token=TOKEN).status == 404


def test_a_stale_resource_version_is_a_409_and_a_stale_generation_a_412(grafana: GrafanaEmulator) -> None:
    obj = created(grafana)
    stale = {**obj, "metadata": {**obj["metadata"], "resourceVersion": "1"}}
    conflict = call(grafana.url, "PUT", f"{DASHBOARDS}/d", stale, token=TOKEN)
    assert (conflict.status, conflict.json["reason"]) == (409, "Conflict")
    assert "the object has been modified" in conflict.json["message"]
    old_generation = {**obj, "metadata": {**obj["metadata"], "generation": 7}}
    mismatch = call(grafana.url, "PUT", f"{DASHBOARDS}/d", old_generation, token=TOKEN)
    assert mismatch.status == 412
    again = call(grafana.url, "POST", DASHBOARDS, resource(), token=TOKEN)
    assert (again.status, again.json["reason"]) == (409, "AlreadyExists")


def test_only_a_spec_change_makes_a_generation(grafana: GrafanaEmulator) -> None:
    obj = created(grafana)
    obj["metadata"]["annotations"] = {"example.com/note": "metadata only"}
    same = call(grafana.url, "PUT", f"{DASHBOARDS}/d", obj, token=TOKEN).json
    assert same["metadata"]["generation"] == 1
    assert same["metadata"]["resourceVersion"] != obj["metadata"]["resourceVersion"]
    same["spec"]["title"] = "Changed"
    assert call(grafana.url, "PUT", f"{DASHBOARDS}/d", same, token=TOKEN).json["metadata"]["generation"] == 2


def test_unknown_fields_are_refused_when_strict(grafana: GrafanaEmulator) -> None:
    body = {**resource(), "extra": 1, "metadata": {"name": "d", "colour": "red"}}
    strict = call(grafana.url, "POST", f"{DASHBOARDS}?fieldValidation=Strict", body, token=TOKEN)
    assert strict.status == 400
    assert 'unknown field "extra"' in strict.json["message"] and "metadata.colour" in strict.json["message"]
    ignored = call(grafana.url, "POST", f"{DASHBOARDS}?fieldValidation=Ignore", body, token=TOKEN)
    assert ignored.status == 201 and "extra" not in ignored.json


def test_namespaces_are_the_callers_org(grafana: GrafanaEmulator) -> None:
    other = call(grafana.url, "GET", DASHBOARDS.replace("default", "org-2"), token=TOKEN)
    assert other.status == 403
    assert call(grafana.url, "GET", DASHBOARDS.replace("default", "org-2"), token="glsa_org2").status == 200
    assert call(grafana.url, "GET", DASHBOARDS.replace("default", "tenant-x"), token=TOKEN).status == 400


def test_a_dry_run_validates_and_stores_nothing(grafana: GrafanaEmulator) -> None:
    grafana.reset_log()
    accepted = call(grafana.url, "POST", f"{DASHBOARDS}?dryRun=All", resource(), token=TOKEN)
    assert accepted.status == 201 and accepted.json["metadata"]["name"] == "d"
    rejected = call(grafana.url, "POST", f"{DASHBOARDS}?dryRun=All", resource(refresh="1s"), token=TOKEN)
    assert (rejected.status, rejected.json["message"]) == (400, "Dashboard refresh interval is too low")
    assert grafana.writes == 0 and call(grafana.url, "GET", f"{DASHBOARDS}/d", token=TOKEN).status == 404


def test_a_managers_kind_cannot_change_in_one_write(grafana: GrafanaEmulator) -> None:
    body = resource()
    body["metadata"]["annotations"] = {"grafana.app/managedBy": "terraform", "grafana.app/managerId": "tf"}
    obj = call(grafana.url, "POST", DASHBOARDS, body, token=TOKEN).json
    obj["metadata"]["annotations"] = {"grafana.app/managedBy": "kubectl", "grafana.app/managerId": "us"}
    refused = call(grafana.url, "PUT", f"{DASHBOARDS}/d", obj, token=TOKEN)
    assert refused.status == 403 and "Cannot change resource manager kind" in refused.json["message"]
    repo = resource("r")
    repo["metadata"]["annotations"] = {"grafana.app/managedBy": "repo", "grafana.app/managerId": "git"}
    assert call(grafana.url, "POST", DASHBOARDS, repo, token=TOKEN).status == 403


def test_a_v2_save_is_read_back_as_stored_and_lossily_as_classic(grafana: GrafanaEmulator) -> None:
    created(grafana)
    v2_path = DASHBOARDS.replace("v1beta1", "v2beta1") + "/d"
    opened = call(grafana.url, "GET", v2_path, token=TOKEN).json
    assert opened["status"]["conversion"]["storedVersion"] == "v1beta1"  # converted for reading only
    opened.pop("status")
    opened["spec"]["description"] = "saved as v2"
    assert call(grafana.url, "PUT", v2_path, opened, token=TOKEN).status == 200
    classic = call(grafana.url, "GET", f"{DASHBOARDS}/d", token=TOKEN).json
    assert classic["status"]["conversion"]["storedVersion"] == "v2beta1"
    assert "description" not in classic["spec"]  # the down-conversion is lossy
    assert call(grafana.url, "GET", v2_path, token=TOKEN).json["spec"]["description"] == "saved as v2"
    fresh = call(grafana.url, "GET", v2_path, token=TOKEN).json
    fresh["spec"]["unknownKey"] = 1  # the v2 schema is strict, unlike the classic JSON spec
    refused = call(grafana.url, "PUT", v2_path, fresh, token=TOKEN)
    assert refused.status == 400 and 'unknown field "spec.unknownKey"' in refused.json["message"]
