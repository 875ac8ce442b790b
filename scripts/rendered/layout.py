"""The rendered tree's file layout: what `python -m scripts.render` writes and every later stage reads.

provisioning/grafana/
  dashboards/<uid>.json          one dashboard each, as Grafana stores it
  alerting/rules.json            rule groups in the alerting provisioning API's shape
  alerting/contact-points.json   contact points (secrets as `$ALERT_WEBHOOK_TOKEN`)
  alerting/policies.json         the notification policy tree (only when one is defined)
  alerting/alerting.yaml         the same alerting objects for Grafana's file provisioning
  embeds.json                    the embeddable panels and their /d-solo paths
  sources.json                   dashboard/<uid>, panel/<uid>/<id>, rule/<uid> -> "dashboards/x.py:12",
                                 where the author's Python built each (not in the JSON Grafana stores)
"""

from __future__ import annotations

from pathlib import Path

OUTPUT_DIR = Path("provisioning/grafana")  # relative to the repository root
DASHBOARDS_DIR = "dashboards"
RULES_FILE = "alerting/rules.json"
CONTACT_POINTS_FILE = "alerting/contact-points.json"
POLICIES_FILE = "alerting/policies.json"
ALERTING_YAML_FILE = "alerting/alerting.yaml"
EMBEDS_FILE = "embeds.json"
SOURCES_FILE = "sources.json"
# A reader does without every other file (no policy, no embeds, no contact points: nothing to publish).
REQUIRED_FILES = (RULES_FILE,)


def dashboard_file(uid: str) -> str:
    """The path of a dashboard's file, relative to the output directory."""
    return f"{DASHBOARDS_DIR}/{uid}.json"


def panel_source_key(dashboard_uid: str, panel_id: object) -> str:
    return f"panel/{dashboard_uid}/{panel_id}"


def dashboard_source_key(uid: str) -> str:
    return f"dashboard/{uid}"


def rule_source_key(uid: str) -> str:
    return f"rule/{uid}"
