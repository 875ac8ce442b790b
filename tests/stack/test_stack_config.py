"""The compose stack's configuration: compose file, Dockerfile, Grafana/Prometheus/Loki provisioning.

Docker, Grafana and Loki cannot run here, so these tests check what can be checked without them: the real
`promtool` validates prometheus.yml; the rest is structure and cross-file consistency (service names,
ports, data-source UIDs used by the rendered dashboards and alert rules, mounted paths, secrets).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from scripts.common.paths import DEFINITIONS_DIR, REPO_ROOT
from scripts.demo import LINT_NEEDS, VERIFY_NEEDS, Report, docker_available, ensure_env_file, run_step_needing
from scripts.render.discover import discover
from scripts.render.files import render_files
from scripts.rendered.layout import OUTPUT_DIR

ROOT = REPO_ROOT
COMPOSE = ROOT / "docker-compose.yml"
PROMETHEUS_CONFIG = ROOT / "provisioning" / "prometheus" / "prometheus.yml"
LOKI_CONFIG = ROOT / "provisioning" / "loki" / "loki-config.yaml"
GRAFANA_PROVISIONING = ROOT / "provisioning" / "grafana" / "provisioning"
DATASOURCES = GRAFANA_PROVISIONING / "datasources" / "datasources.yaml"
RENDERED = ROOT / "provisioning" / "grafana"
EXPECTED_SERVICES = {"grafana", "loki", "prometheus", "app", "redis"}  # what `docker compose up` starts
EXPECTED_HOST_PORTS = {"grafana": 3000, "loki": 3100, "prometheus": 9090, "app": 8000}
# The opt-in, all-from-files Grafana (`docker compose --profile files up`): host port -> container port.
FILES_GRAFANA = "grafana-files"
FILES_GRAFANA_PORTS = (3001, 3000)
FILES_PROVIDER = ROOT / "provisioning" / "grafana" / "provisioning-files" / "dashboards" / "chat.yaml"
DATASOURCE_UIDS = {"prometheus": "prometheus", "loki": "loki"}  # type -> uid (dashboards.core.conventions)
REQUIRED_VAR = re.compile(r"^\$\{(?P<name>[A-Z_][A-Z0-9_]*):\?[^}]+\}$")


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _yaml(COMPOSE)


@pytest.fixture(scope="module")
def datasources() -> dict[str, dict[str, Any]]:
    return {ds["type"]: ds for ds in _yaml(DATASOURCES)["datasources"]}


def _service_env(compose: dict[str, Any], service: str) -> dict[str, str]:
    environment = compose["services"][service].get("environment", {})
    assert isinstance(environment, dict), f"{service}: write environment as a mapping"
    return {key: str(value) for key, value in environment.items()}


# --- Prometheus ---------------------------------------------------------------------------------------


@pytest.mark.prometheus
def test_promtool_accepts_the_prometheus_config() -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: apt-get install prometheus"
    result = subprocess.run(
        [promtool, "check", "config", str(PROMETHEUS_CONFIG)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_scrapes_the_app_and_itself_every_5s(datasources: dict[str, dict[str, Any]]) -> None:
    config = _yaml(PROMETHEUS_CONFIG)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"chat", "prometheus"}
    # Every replica of the app service, by compose's DNS (tests/cluster/test_cluster_stack.py checks more).
    assert jobs["chat"]["dns_sd_configs"][0]["names"] == ["app"]
    assert config["global"]["scrape_interval"] == "5s"
    # $__rate_interval is computed from the data source's timeInterval: it must equal the scrape interval.
    assert datasources["prometheus"]["jsonData"]["timeInterval"] == config["global"]["scrape_interval"]


# --- Grafana provisioning ------------------------------------------------------------------------------


def test_datasources_have_the_contract_uids_and_point_at_the_compose_services(
    datasources: dict[str, dict[str, Any]], compose: dict[str, Any]
) -> None:
    assert _yaml(DATASOURCES)["apiVersion"] == 1
    assert set(datasources) == set(DATASOURCE_UIDS)
    for kind, uid in DATASOURCE_UIDS.items():
        source = datasources[kind]
        assert source["uid"] == uid
        assert source["access"] == "proxy"
        assert source["editable"] is False, "provisioned data sources stay read-only"
        url = urlsplit(source["url"])
        assert url.hostname in compose["services"], f"{source['url']} is not a compose service"
        assert url.port == EXPECTED_HOST_PORTS[url.hostname]
    assert [ds for ds in datasources.values() if ds.get("isDefault")] == [datasources["prometheus"]]


def test_file_provisioning_leaves_dashboards_and_alerting_to_the_api() -> None:
    """Objects provisioned from files cannot be changed through the HTTP API that `make publish` uses
    (400 "Cannot save provisioned dashboard", alerting provenance `file`), so files own only data sources."""
    provisioned_kinds = {path.name for path in GRAFANA_PROVISIONING.iterdir() if path.is_dir()}
    assert provisioned_kinds == {"datasources"}


def test_the_files_profile_grafana_provisions_the_rendered_dashboards_and_alerting(
    compose: dict[str, Any],
) -> None:
    """`grafana-files` loads everything from the rendered files: the provider's path is where the rendered
    dashboards are mounted, alerting.yaml is mounted into the alerting provisioning directory, and the
    provider's folder is the one the rendered rule groups use (Grafana's alerting provisioner finds and
    creates folders by title)."""
    mounts = dict(mount.rsplit(":", 2)[:2] for mount in compose["services"][FILES_GRAFANA]["volumes"])
    provider = _yaml(FILES_PROVIDER)["providers"]
    assert len(provider) == 1 and provider[0]["type"] == "file" and provider[0]["allowUiUpdates"] is False
    assert mounts["./provisioning/grafana/dashboards"] == provider[0]["options"]["path"]
    assert (
        mounts["./provisioning/grafana/provisioning-files/dashboards"]
        == "/etc/grafana/provisioning/dashboards"
    )
    assert mounts["./provisioning/grafana/alerting/alerting.yaml"].startswith(
        "/etc/grafana/provisioning/alerting/"
    )
    alerting = _yaml(RENDERED / "alerting" / "alerting.yaml")
    assert {group["folder"] for group in alerting["groups"]} == {provider[0]["folder"]}
    env = _service_env(compose, FILES_GRAFANA)
    assert REQUIRED_VAR.match(env["ALERT_WEBHOOK_TOKEN"]), "the contact point's token comes from .env"
    assert env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"


def _rendered_dashboards() -> list[Path]:
    paths = sorted((RENDERED / "dashboards").glob("*.json"))
    assert paths, "no rendered dashboards: run `python -m scripts.render`"
    return paths


def _datasource_refs(node: Any) -> list[dict[str, Any]]:
    """Every {"type": ..., "uid": ...} object below `node` (panel, target and variable data sources)."""
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("type"), str) and isinstance(node.get("uid"), str) and len(node) <= 3:
            found.append(node)
        for value in node.values():
            found.extend(_datasource_refs(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_datasource_refs(value))
    return found


def test_rendered_dashboards_use_only_the_provisioned_datasource_uids() -> None:
    variables_for = {"prometheus": "${datasource}", "loki": "${loki_datasource}"}
    for path in _rendered_dashboards():
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        for ref in _datasource_refs(dashboard.get("panels", [])):
            if ref["type"] in DATASOURCE_UIDS:
                allowed = {variables_for[ref["type"]], DATASOURCE_UIDS[ref["type"]]}
                assert ref["uid"] in allowed, f"{path.name}: {ref} is not a provisioned data source"
        pickers = {
            var["name"]: var["query"]
            for var in dashboard["templating"]["list"]
            if var["type"] == "datasource"
        }
        assert pickers["datasource"] == "prometheus"
        assert pickers.get("loki_datasource", "loki") == "loki"


def test_rendered_alert_rules_live_in_folder_chat_and_query_provisioned_datasources() -> None:
    groups = json.loads((RENDERED / "alerting" / "rules.json").read_text(encoding="utf-8"))
    assert groups, "no rendered alert rules: run `python -m scripts.render`"
    for group in groups:
        assert group["folderUid"] == "chat"
        for rule in group["rules"]:
            assert rule["folderUID"] == "chat"
            for query in rule["data"]:
                assert query["datasourceUid"] in {*DATASOURCE_UIDS.values(), "__expr__"}, rule["uid"]


def test_rendered_contact_point_posts_to_the_app_webhook() -> None:
    contact_points = json.loads((RENDERED / "alerting" / "contact-points.json").read_text(encoding="utf-8"))
    webhooks = [cp for cp in contact_points if cp["type"] == "webhook"]
    assert webhooks, "a webhook contact point must carry alerts into the chat"
    for point in webhooks:
        settings = point["settings"]
        assert settings["url"] == "http://app:8000/api/alerts/grafana"
        assert settings["authorization_scheme"] == "Bearer"
        # Only a reference to the token: the publisher fills it in from its environment.
        assert settings["authorization_credentials"] == "$ALERT_WEBHOOK_TOKEN"


# --- Loki ---------------------------------------------------------------------------------------------


def test_loki_config_is_single_tenant_tsdb_v13_on_the_filesystem() -> None:
    config = _yaml(LOKI_CONFIG)
    assert config["auth_enabled"] is False
    assert config["server"]["http_listen_port"] == EXPECTED_HOST_PORTS["loki"]
    newest = max(config["schema_config"]["configs"], key=lambda period: str(period["from"]))
    assert (newest["store"], newest["schema"], newest["object_store"]) == ("tsdb", "v13", "filesystem")
    assert newest["index"]["period"] == "24h", "tsdb needs a 24h index period"
    assert config["common"]["storage"]["filesystem"]
    if config.get("compactor", {}).get("retention_enabled"):
        # Loki 3 refuses to start without it ("compactor.delete-request-store should be configured").
        assert config["compactor"]["delete_request_store"] == "filesystem"


# --- docker-compose.yml -------------------------------------------------------------------------------


def test_compose_runs_the_four_services_on_the_contract_ports(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {name for name, service in services.items() if "profiles" not in service} == EXPECTED_SERVICES
    assert services[FILES_GRAFANA]["profiles"] == ["files"]
    assert services[FILES_GRAFANA]["ports"] == ["127.0.0.1:{}:{}".format(*FILES_GRAFANA_PORTS)]
    for name, port in EXPECTED_HOST_PORTS.items():
        # The first host port of each mapping ("127.0.0.1:8000-8001:8000": one port per app replica).
        published = {int(mapping.rsplit(":", 2)[-2].split("-")[0]) for mapping in services[name]["ports"]}
        assert published == {port}, f"{name} must publish {port}"
        assert services[name]["restart"] == "unless-stopped"


def image_reference(service: dict[str, Any]) -> str:
    """The image a service runs by default: `${GRAFANA_VERSION:-13.2.1}` is its default, 13.2.1."""
    return re.sub(r"\$\{\w+:-([^}]+)\}", r"\1", str(service["image"]))


def test_compose_images_are_pinned_to_exact_versions(compose: dict[str, Any]) -> None:
    pinned = {}
    for name, service in compose["services"].items():
        if "build" in service:
            continue
        image, _, tag = image_reference(service).rpartition(":")
        assert image and re.fullmatch(r"v?\d+\.\d+\.\d+", tag), f"{name}: pin an exact version, not {tag!r}"
        pinned[image] = tag
    assert pinned["grafana/grafana"].split(".")[0] in {"12", "13"}
    assert pinned["grafana/loki"].split(".")[0] == "3"


def test_every_service_has_a_healthcheck_and_waits_for_its_dependencies(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        if "build" in service:
            continue  # the built image brings its own HEALTHCHECK (checked with the Dockerfile)
        test = service["healthcheck"]["test"]
        assert test[0] in {"CMD", "CMD-SHELL"} and len(test) > 1, name
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services
            assert condition == {"condition": "service_healthy"}


# What each pinned image can run for its healthcheck (exec form: no shell is assumed):
#   grafana/grafana 12.x: Alpine with busybox `wget`, plus `curl` from the image's Dockerfile;
#   prom/prometheus: built on quay.io/prometheus/busybox, so busybox `wget`;
#   grafana/loki >= 3.6: distroless, no shell/wget/curl; 3.7 added `loki -health` (GET :3100/ready);
#   redis (the official image, Debian-based): `redis-cli`, which speaks Redis, not HTTP.
HEALTHCHECK_PROGRAMS = {
    "grafana/grafana": {"wget", "curl"},
    "prom/prometheus": {"wget"},
    "grafana/loki": {"/usr/bin/loki"},
    "redis": {"redis-cli"},
}


def test_healthchecks_only_run_programs_their_images_contain(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if "build" in service:
            continue
        image, _, tag = image_reference(service).rpartition(":")
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD", f"{name}: exec form, the images may have no shell"
        assert test[1] in HEALTHCHECK_PROGRAMS[image], f"{name}: {image} has no {test[1]}"
        if image == "grafana/loki":
            assert test[2:] == ["-health"]
            assert tuple(int(part) for part in tag.split(".")[:2]) >= (3, 7), "loki -health needs Loki 3.7"
        elif image == "redis":
            assert test[2:] == ["ping"]
        else:
            port = FILES_GRAFANA_PORTS[1] if name == FILES_GRAFANA else EXPECTED_HOST_PORTS[name]
            assert any(arg.startswith(f"http://127.0.0.1:{port}/") for arg in test), f"{name}: probe its port"


def test_every_mounted_path_exists_and_volumes_are_named(compose: dict[str, Any]) -> None:
    declared_volumes = set(compose["volumes"])
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is not in the repo"
            else:
                assert source in declared_volumes, f"{name}: {source} must be a declared named volume"


def test_grafana_admits_anonymous_viewers_only_and_allows_embedding(compose: dict[str, Any]) -> None:
    env = _service_env(compose, "grafana")
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert env["GF_SECURITY_ALLOW_EMBEDDING"] == "true"
    assert env["GF_SERVER_ROOT_URL"] == _service_env(compose, "app")["GRAFANA_PUBLIC_URL"]


def test_secrets_come_from_the_env_file_never_from_the_compose_file(compose: dict[str, Any]) -> None:
    grafana = _service_env(compose, "grafana")
    assert REQUIRED_VAR.match(grafana["GF_SECURITY_ADMIN_PASSWORD"]), "admin password must come from .env"
    app = _service_env(compose, "app")
    assert REQUIRED_VAR.match(app["ALERT_WEBHOOK_TOKEN"])
    example = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.startswith("#")
    }
    required = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*):\?", COMPOSE.read_text(encoding="utf-8")))
    assert required <= example, f".env.example lacks {sorted(required - example)}"


def test_the_app_gets_its_integrations_from_the_environment(compose: dict[str, Any]) -> None:
    env = _service_env(compose, "app")
    assert env["LOKI_URL"] == "http://loki:3100"
    assert env["GRAFANA_PUBLIC_URL"] == "http://localhost:3000"
    origins = env["CHAT_ALLOWED_ORIGINS"].split(",")
    assert "http://localhost:8000" in origins and all(o.startswith("http") for o in origins)
    assert compose["services"]["app"]["build"]["dockerfile"] == "Dockerfile"


def test_the_app_container_runs_without_privileges(compose: dict[str, Any]) -> None:
    app = compose["services"]["app"]
    assert app["read_only"] is True
    assert app["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in app["security_opt"]


# --- Dockerfile ---------------------------------------------------------------------------------------


def test_dockerfile_builds_a_non_root_app_image_with_a_healthcheck() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    instructions = [line for line in lines if not line.startswith("#")]
    assert instructions[0] == "FROM python:3.11-slim"
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    assert any(line.startswith("HEALTHCHECK") for line in instructions)
    assert any("pip install -r requirements.txt" in line for line in instructions)
    # The last CMD is the image's command (the HEALTHCHECK's own CMD comes earlier).
    cmd = json.loads([line for line in instructions if line.startswith("CMD ")][-1][4:])
    assert cmd[:3] == ["python", "-m", "app"] and cmd[cmd.index("--host") + 1] == "0.0.0.0"
    for line in instructions:
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies {source}, which is not in the repo"


# --- make demo's helpers ------------------------------------------------------------------------------


def test_demo_writes_an_env_file_with_random_secrets_once(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    first = ensure_env_file(env_file)
    required = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*):\?", COMPOSE.read_text(encoding="utf-8")))
    assert required <= set(first)
    assert all(len(first[name]) >= 24 and "change-me" not in first[name] for name in required)
    assert env_file.stat().st_mode & 0o777 == 0o600, "secrets readable by the owner only"
    assert ensure_env_file(env_file) == first, "an existing .env is never overwritten"


def test_demo_detects_a_machine_without_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    available, why = docker_available()
    assert (available, why) == (False, "no docker client on PATH")


def _fake_program(directory: Path, name: str) -> None:
    program = directory / name
    program.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    program.chmod(0o755)


def test_demo_skips_a_check_whose_program_is_missing_and_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh machine without Prometheus: lint/verify are skipped with the package name, not failed."""
    monkeypatch.setenv("PATH", str(tmp_path))
    _fake_program(tmp_path, "node")
    marker = tmp_path / "ran"
    report = Report()
    command = [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]
    assert run_step_needing(report, "lint", command, LINT_NEEDS) is False
    assert run_step_needing(report, "verify", command, VERIFY_NEEDS) is False
    assert not marker.exists(), "a step with a missing program must not run"
    assert report.steps == [
        ("lint", "skip", "needs promtool, not installed (apt-get install prometheus)"),
        ("verify", "skip", "needs prometheus and promtool, not installed (apt-get install prometheus)"),
    ]
    assert report.ok, "skipped steps do not fail the demo"


def test_demo_runs_a_check_whose_programs_are_installed_and_records_its_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    for program in VERIFY_NEEDS:
        _fake_program(tmp_path, program)
    report = Report()
    assert (
        run_step_needing(report, "verify", [sys.executable, "-c", "raise SystemExit(3)"], VERIFY_NEEDS)
        is False
    )
    assert report.steps == [("verify", "FAIL", "exit 3")]
    assert not report.ok


# --- pull-request workflow and pre-commit ----------------------------------------------------------------

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def _make_target_line(target: str) -> str:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    (line,) = [line for line in makefile if line.startswith(f"{target}:")]
    return line


def _make_recipe(target: str) -> str:
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = lines.index(_make_target_line(target))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return "\n".join(recipe)


def _steps_text(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_pull_requests_run_lint_render_freshness_and_the_whole_suite() -> None:
    workflow = _yaml(WORKFLOW)
    triggers = workflow.get("on", workflow.get(True))  # PyYAML reads the bare key `on` as True
    assert "pull_request" in triggers
    test_job = workflow["jobs"]["test"]
    runs = _steps_text(test_job)
    for command in ("bash .ci/install", "make check render-check lint", "bash .ci/run"):
        assert command in runs, f"the test job must run `{command}`"
    assert runs.index("bash .ci/install") < runs.index("make check") < runs.index("bash .ci/run")
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for target in ("check", "render-check", "lint"):
        assert _make_target_line(target)
    assert "--check" in _make_recipe("render-check")


def test_the_plan_job_has_least_privilege_and_another_job_comments() -> None:
    jobs = _yaml(WORKFLOW)["jobs"]
    job = jobs["grafana-plan"]
    assert "pull_request" in job["if"] and "head.repo.full_name == github.repository" in job["if"]
    assert job["permissions"] == {"contents": "read"}  # runs the PR's code: no write to anything
    assert job["env"]["GRAFANA_URL"] == "${{ secrets.GRAFANA_URL }}"
    assert job["env"]["GRAFANA_TOKEN"] == "${{ secrets.GRAFANA_PLAN_TOKEN }}"  # never the publish token
    assert "ALERT_WEBHOOK_TOKEN" not in job["env"]
    steps = job["steps"]
    skip, *work = steps
    assert "env.GRAFANA_URL == ''" in skip["if"] and "run" in skip
    for step in work[:4]:
        assert "env.GRAFANA_URL != ''" in step["if"] and "env.GRAFANA_TOKEN != ''" in step["if"], step
    # The same plan as `make diff`, called directly for the detailed exit code, and redacted.
    plan = next(step for step in work if step.get("id") == "plan")["run"]
    make_diff = _make_recipe("diff")
    for flag in ("-m scripts.publish", "--plan", "--diff"):
        assert flag in plan and flag in make_diff.replace("$(PUBLISH)", "-m scripts.publish")
    assert "--detailed-exitcode" in plan and "scripts.publish.redact" in plan
    comment_job = jobs["grafana-plan-comment"]
    assert comment_job["permissions"] == {"pull-requests": "write"} and "env" not in comment_job
    comment = next(
        s for s in comment_job["steps"] if str(s.get("uses", "")).startswith("actions/github-script@")
    )
    script = comment["with"]["script"]
    assert "github.rest.issues.createComment" in script and "github.rest.issues.updateComment" in script
    assert "${{" not in script, "pass values through env, never expand expressions inside the script"
    publish = jobs["grafana-publish"]
    assert publish["environment"] == "grafana-production" and "GRAFANA_PUBLISH_ON_MERGE" in publish["if"]


def test_pre_commit_runs_ruff_and_the_render_freshness_check_on_the_right_files() -> None:
    hooks = {
        hook["id"]: hook
        for repo in _yaml(ROOT / ".pre-commit-config.yaml")["repos"]
        for hook in repo["hooks"]
    }
    assert {"ruff-format", "ruff-check", "render-fresh"} <= set(hooks)
    assert "-m ruff format" in hooks["ruff-format"]["entry"]
    assert "-m ruff check" in hooks["ruff-check"]["entry"]
    render = hooks["render-fresh"]
    assert render["entry"].endswith("-m scripts.render --check") and render["pass_filenames"] is False
    watched = re.compile(render["files"])
    inputs = [str(path.relative_to(ROOT)) for path in DEFINITIONS_DIR.rglob("*.py")] + [
        "scripts/render/cli.py"
    ]
    outputs = [
        f"{OUTPUT_DIR}/{name}" for name in render_files(discover(DEFINITIONS_DIR))
    ]  # what render writes
    for path in inputs + outputs:
        assert watched.search(path), f"render freshness must run when {path} changes"
    assert not watched.search("app/hub.py")
