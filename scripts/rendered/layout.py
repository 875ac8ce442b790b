"""The rendered tree's file layout: what `python -m scripts.render` writes and every later stage reads.

provisioning/grafana/
  dashboards/<uid>.json          one dashboard each, as Grafana stores it
  alerting/rules.json            rule groups in the alerting provisioning API's shape
  alerting/contact-points.json   contact points (secrets as `$ALERT_WEBHOOK_TOKEN`)
  alerting/policies.json         the notification policy tree (only when one is defined)
  alerting/alerting.yaml         the same alerting objects for Grafana's file provisioning
  alerting/rule-sources.json     rule uid -> the definitions module that declares it
  embeds.json                    the embeddable panels and their /d-solo paths
"""

from __future__ import annotations

from pathlib import Path

OUTPUT_DIR = Path("provisioning/grafana")  # relative to the repository root
DASHBOARDS_DIR = "dashboards"
RULES_FILE = "alerting/rules.json"
CONTACT_POINTS_FILE = "alerting/contact-points.json"
POLICIES_FILE = "alerting/policies.json"
ALERTING_YAML_FILE = "alerting/alerting.yaml"
RULE_SOURCES_FILE = "alerting/rule-sources.json"
EMBEDS_FILE = "embeds.json"
# A reader does without every other file (no policy, no embeds, no contact points: nothing to publish).
REQUIRED_FILES = (RULES_FILE,)


def dashboard_file(uid: str) -> str:
    """The path of a dashboard's file, relative to the output directory."""
    return f"{DASHBOARDS_DIR}/{uid}.json"
