"""The publisher's pure parts: semantic comparison, hashing, datasource mapping, configuration, messages."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from scripts.common.exits import ExitCode
from scripts.common.paths import REPO_ROOT
from scripts.grafana.datasources import map_datasources
from scripts.grafana.errors import PublishError
from scripts.grafana.target import load_target, safe_url
from scripts.publish import cli as publish_cli
from scripts.publish.compare import (
    content_hash,
    duration_ms,
    is_clean,
    normalise_contact_point,
    normalise_policy,
    normalise_rule,
)
from scripts.publish.revision import current_revision
from scripts.publish.writers import failing_rules
from tests.support.grafana_emulator.rendered import contact_point, dashboard, policy, rule


def test_content_hash_ignores_only_id_version_and_marker() -> None:
    base = dashboard("d", "D")
    assert content_hash(base) == content_hash({**base, "id": 7, "version": 3, "__publish": {"sha256": "x"}})
    assert content_hash(base) != content_hash({**base, "description": "edited"})
    assert is_clean({**base, "__publish": {"sha256": content_hash(base)}})
    assert not is_clean(base)


def test_clean_means_nobody_saved_since_our_publish() -> None:
    """Same version as our save created: clean even if Grafana normalised the content; a later save is not."""
    ours = dashboard("d", "D")
    marker = {"sha256": content_hash(ours), "version": 2}
    normalised = {**ours, "refresh": "5s", "version": 2, "__publish": marker}
    assert is_clean(normalised)
    assert not is_clean({**normalised, "version": 3})  # saved again (e.g. in the UI) since
    assert is_clean({**ours, "version": 3, "__publish": marker})  # saved, but content still ours


def test_rule_comparison_ignores_what_grafana_adds() -> None:
    ours = rule("r", "R", "g")
    theirs = {
        **ours,
        "id": 3,
        "updated": "2026-01-01T00:00:00Z",
        "provenance": "api",
        "for": "1m",
        "orgID": 2,
        "keep_firing_for": "0s",
        "notification_settings": None,
        "record": None,
        "updated_by": {"uid": "sa-1", "name": "publisher"},  # fields newer releases add are not ours
        "guid": "0f6e8b",
    }
    theirs["data"] = [
        {**q, "model": {"intervalMs": 1000, "maxDataPoints": 43200, **q["model"]}} for q in ours["data"]
    ]
    assert normalise_rule(theirs) == normalise_rule(ours)
    assert normalise_rule({**theirs, "labels": {}}) != normalise_rule(ours)  # a removed label is a change
    assert normalise_rule({**theirs, "for": "2m"}) != normalise_rule(ours)


def test_query_type_from_the_model_is_what_grafana_stores() -> None:
    """AlertQuery.PreSave copies model.queryType (Loki "instant") onto the query: the same rule read back
    must compare equal, or every publish would rewrite the group."""
    ours = rule("r", "R", "g")
    ours["data"][0]["model"]["queryType"] = "instant"
    live = [{**ours["data"][0], "queryType": "instant"}, {**ours["data"][1], "queryType": ""}]
    assert normalise_rule({**ours, "data": live}) == normalise_rule(ours)
    plain = rule("r", "R", "g")  # no model.queryType: a live "instant" is a real difference
    assert normalise_rule({**plain, "data": [{**plain["data"][0], "queryType": "instant"}]}) != (
        normalise_rule({**plain, "data": plain["data"][:1]})
    )


def test_durations_and_policy_spelling() -> None:
    assert duration_ms("60s") == duration_ms("1m") == 60_000
    assert duration_ms("1h30m") == 5_400_000
    assert duration_ms("soon") == "soon"
    live = {**policy(), "provenance": "api", "group_interval": "300s"}
    assert normalise_policy(live) == normalise_policy(policy())


def test_contact_point_secrets_compare_as_present_or_absent() -> None:
    ours = contact_point()
    redacted = {
        **ours,
        "provenance": "api",
        "settings": {**ours["settings"], "authorization_credentials": "[REDACTED]"},
    }
    assert normalise_contact_point(redacted) == normalise_contact_point(ours)
    assert "$ALERT_WEBHOOK_TOKEN" not in str(normalise_contact_point(ours))
    without = {
        **ours,
        "settings": {k: v for k, v in ours["settings"].items() if k != "authorization_credentials"},
    }
    assert normalise_contact_point(without) != normalise_contact_point(ours)


def test_datasource_mapping_touches_uids_not_variables() -> None:
    mapping = {"prometheus": "prom-2"}
    mapped = map_datasources(dashboard("d", "D"), mapping)
    assert mapped["templating"]["list"][0]["current"] == {"text": "prom-2", "value": "prom-2"}
    assert mapped["panels"][0]["datasource"]["uid"] == "${datasource}"
    mapped_rule = map_datasources(rule("r", "R", "g"), mapping)
    assert [q["datasourceUid"] for q in mapped_rule["data"]] == ["prom-2", "__expr__"]
    assert mapped_rule["data"][0]["model"]["datasource"]["uid"] == "prom-2"
    assert map_datasources(rule("r", "R", "g"), {}) == rule("r", "R", "g")


def test_example_environments_file_is_valid() -> None:
    example = REPO_ROOT / "provisioning" / "environments.example.yaml"
    tokens = {"GRAFANA_TOKEN": "t1", "GRAFANA_TOKEN_STAGING": "t2", "GRAFANA_TOKEN_PROD": "t3"}
    targets = [load_target(name, example, tokens) for name in ("dev", "staging", "prod")]
    assert [t.credential for t in targets] == ["t1", "t2", "t3"]
    assert targets[1].datasource_map == {"prometheus": "staging-prometheus", "loki": "staging-loki"}
    assert "t2" not in repr(targets[1])
    with pytest.raises(PublishError) as missing_token:
        load_target("prod", example, {})
    assert missing_token.value.exit_code == ExitCode.CONFIG
    assert "export GRAFANA_TOKEN_PROD=" in str(missing_token.value)


def test_basic_auth_fallback_and_safe_urls() -> None:
    target = load_target(
        None,
        Path("unused"),
        {
            "GRAFANA_URL": "http://u:p@h:3000/grafana/",
            "GRAFANA_USER": "u",
            "GRAFANA_PASSWORD": "p",
            "GRAFANA_ORG_ID": "2",
        },
    )
    assert (target.credential, target.org_id, target.public_url) == (("u", "p"), 2, "http://h:3000/grafana")
    assert safe_url("https://user:secret@grafana.example:8443/sub/?x=1") == "https://grafana.example:8443/sub"


def test_version_message_from_git_and_outside_git(tmp_path: Path) -> None:
    inside = current_revision(REPO_ROOT)
    assert inside.commit and inside.message.startswith(f"publish {inside.commit}: ")
    assert len(inside.message) <= 500
    outside = current_revision(tmp_path)
    assert (outside.commit, outside.message) == ("", "published by scripts.publish (no git commit available)")


def test_a_dirty_checkout_is_named_in_the_version_message(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "a.txt").write_text("one")
    git("add", "a.txt")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "first")
    clean = current_revision(tmp_path)
    assert "+dirty" not in clean.commit and clean.message.endswith(": first")
    (tmp_path / "a.txt").write_text("two")  # an edit not committed: the publish is no commit's content
    dirty = current_revision(tmp_path)
    assert dirty.commit == clean.commit + "+dirty" and dirty.message.startswith(f"publish {dirty.commit}: ")


def test_stale_rendered_files_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An edit of a definition that was not rendered would plan as "unchanged": publish refuses it."""
    for part in ("scripts", "dashboards", "provisioning/grafana"):
        shutil.copytree(REPO_ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("node_modules"))
    monkeypatch.setattr(publish_cli, "REPO_ROOT", tmp_path)
    rendered = tmp_path / "provisioning" / "grafana"
    publish_cli.ensure_rendered(rendered)  # fresh: nothing to say
    module = next(p for p in (tmp_path / "dashboards").glob("*.py") if "ChatDashboard(" in p.read_text())
    module.write_text(module.read_text().replace('title="', 'title="Edited ', 1))
    with pytest.raises(PublishError) as stale:
        publish_cli.ensure_rendered(rendered)
    assert stale.value.exit_code == ExitCode.CONFIG
    assert "the rendered files are not what the code renders" in str(stale.value)
    assert "make render" in str(stale.value)


def test_failing_rule_is_named_from_grafanas_message() -> None:
    rules = [rule("a", "Rule A", "g"), {**rule("b", "Rule B", "g"), "execErrState": "Maybe"}]
    assert failing_rules("invalid alert rule: unknown Error state option Maybe", rules) == ["b"]
    assert failing_rules("... [rule_uid: 'a', title: 'Rule A' ...]", rules) == ["a"]
    assert failing_rules("invalid alert rule: something new", rules) == []
    assert failing_rules("invalid alert rule: something new", rules[:1]) == ["a"]
