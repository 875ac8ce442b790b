"""What only the app platform (/apis, Grafana 13) does: managers it enforces, server-side rejections the
legacy API does not make, --api on a Grafana that does not serve it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.grafana_emulator import GrafanaEmulator, Token
from tests.support.grafana_emulator.client import call
from tests.support.grafana_emulator.publish_cli import run_publish
from tests.support.grafana_emulator.rendered import dashboard, default_tree, write_tree

TOKEN = "glsa_publisher_secret_token"
DASHBOARDS = "/apis/dashboard.grafana.app/v1beta1/namespaces/default/dashboards"


@pytest.fixture
def grafana() -> Iterator[GrafanaEmulator]:
    with GrafanaEmulator(profile="v13", tokens=[Token(TOKEN)]) as emulator:
        yield emulator


def resource(uid: str, title: str, annotations: dict[str, str]) -> dict[str, Any]:
    spec = {k: v for k, v in dashboard(uid, title).items() if k != "uid"}
    return {
        "apiVersion": "dashboard.grafana.app/v1beta1",
        "kind": "Dashboard",
        "metadata": {"name": uid, "annotations": annotations},
        "spec": spec,
    }


def test_terraform_is_taken_over_only_with_force_and_git_sync_never(
    grafana: GrafanaEmulator, tmp_path: Path
) -> None:
    terraform = {"grafana.app/managedBy": "terraform", "grafana.app/managerId": "tf-prod"}
    answer = call(grafana.url, "POST", DASHBOARDS, resource("chat-overview", "TF", terraform), token=TOKEN)
    assert answer.status == 201, answer.text
    directory = write_tree(tmp_path, default_tree())
    assert run_publish(grafana.url, directory, token=TOKEN).returncode == 3  # the others are published
    # A Git Sync repository's dashboard (written by its sync job, which this emulator does not run).
    repo = grafana.dashboards.rows[(1, "chat-logs")]
    repo.annotations = {
        "grafana.app/managedBy": "repo",
        "grafana.app/managerId": "team-repo",
        "grafana.app/sourcePath": "dashboards/logs.json",
    }

    refused = run_publish(grafana.url, directory, token=TOKEN)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "managed    dashboard chat-overview - managed by Terraform (tf-prod) (--force takes it over)" in (
        refused.stdout
    )
    assert "not-ours   dashboard chat-logs - managed by Git Sync repository (team-repo)" in refused.stdout

    forced = run_publish(grafana.url, directory, "--force", token=TOKEN)
    assert forced.returncode == 3, forced.stdout + forced.stderr  # the repository's stays refused
    overview = grafana.dashboards.rows[(1, "chat-overview")]
    assert overview.annotations["grafana.app/managedBy"] == "kubectl" and overview.title == "Chat overview"
    assert grafana.dashboards.rows[(1, "chat-logs")].annotations["grafana.app/managedBy"] == "repo"


def test_refresh_below_the_minimum_is_rejected_by_the_dry_run(
    grafana: GrafanaEmulator, tmp_path: Path
) -> None:
    """The legacy API raises such a refresh to the minimum; the app platform's admission refuses it."""
    tree = default_tree()
    tree["dashboards"][0]["refresh"] = "1s"
    directory = write_tree(tmp_path, tree)
    planned = run_publish(grafana.url, directory, "--plan", "--detailed-exitcode", token=TOKEN)
    assert planned.returncode == 1, planned.stdout + planned.stderr
    assert "rejected by Grafana (dry run): Dashboard refresh interval is too low" in planned.stdout
    assert grafana.writes == 0 and (1, "chat-overview") not in grafana.dashboards.rows
    legacy = run_publish(grafana.url, directory, "--api", "legacy", token=TOKEN)
    assert legacy.returncode == 0, legacy.stdout + legacy.stderr
    assert grafana.dashboards.rows[(1, "chat-overview")].data["refresh"] == "5s"


def test_api_apps_on_a_grafana_without_it_is_a_configuration_error(tmp_path: Path) -> None:
    directory = write_tree(tmp_path, default_tree())
    with GrafanaEmulator(profile="v11.3+", tokens=[Token(TOKEN)]) as old:
        result = run_publish(old.url, directory, "--api", "apps", token=TOKEN)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "--api apps: this Grafana does not serve dashboard.grafana.app and folder.grafana.app" in (
            result.stderr
        )
        assert old.writes == 0


def test_a_second_org_publishes_into_its_namespace(tmp_path: Path) -> None:
    with GrafanaEmulator(profile="v13", tokens=[Token(TOKEN, org_id=2)]) as grafana:
        result = run_publish(grafana.url, write_tree(tmp_path, default_tree()), token=TOKEN)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "namespace org-2" in result.stdout
        assert grafana.dashboards.rows[(2, "chat-overview")].annotations["grafana.app/managedBy"] == "kubectl"


def test_lost_answers_and_transient_failures_on_apis_are_not_failures(
    grafana: GrafanaEmulator, tmp_path: Path
) -> None:
    """A create whose answer was lost is repeated: Grafana's 409 AlreadyExists, then the read-back shows
    our very write. A 503 is retried."""
    directory = write_tree(tmp_path, default_tree())
    grafana.drop_next(1, methods=("POST",), path_prefix="/apis/folder.grafana.app", after_apply=True)
    grafana.drop_next(1, methods=("POST",), path_prefix=DASHBOARDS, after_apply=True)
    grafana.fail_next(2, status=503, methods=("POST",), path_prefix=DASHBOARDS)
    result = run_publish(grafana.url, directory, token=TOKEN)
    assert result.returncode == 0, result.stdout + result.stderr
    statuses = [r.status for r in grafana.requests if r.method == "POST" and r.path.startswith("/apis")]
    assert 0 in statuses and 409 in statuses and 503 in statuses
    grafana.reset_log()
    assert run_publish(grafana.url, directory, token=TOKEN).returncode == 0 and grafana.writes == 0


def test_auto_keeps_grafana_12_on_the_legacy_api_unless_told(tmp_path: Path) -> None:
    """12.x serves /apis, but over storage whose generations and annotations auto does not rely on."""
    directory = write_tree(tmp_path, default_tree())
    with GrafanaEmulator(profile="v12.3", tokens=[Token(TOKEN)]) as twelve:
        auto = run_publish(twelve.url, directory, token=TOKEN)
        assert auto.returncode == 0, auto.stdout + auto.stderr
        assert "through legacy /api (Grafana 12.3.1; --api apps to use /apis before 13)" in auto.stdout
        assert not any(r.path.startswith("/apis") for r in twelve.requests)
        forced = run_publish(twelve.url, directory, "--api", "apps", "--plan", token=TOKEN)
        assert forced.returncode == 0 and "through app platform /apis" in forced.stdout
