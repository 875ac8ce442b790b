"""Behaviour switches between Grafana releases that matter to a publisher (grafana/grafana PRs at each)."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Profile:
    name: str
    version: str
    unique_titles: bool  # dashboard/folder titles unique per folder (412 name-exists / 409), removed in 11.3
    title_length_check: bool  # 400 title-too-long exists only in newer releases
    folder_uid_taken_status: int  # POST /api/folders with a used uid: 412 (v10) or 409 (v11.3+)
    delete_body_key: str  # DELETE dashboard answers with "id" (v10) or "uid" (v11+)
    post_answer_has_folder_uid: bool
    versions_envelope: bool  # {"continueToken","versions"} instead of a bare array
    rules_check_folder: bool  # alert rule writes reject an unknown folderUID
    not_found_reason: str  # errutil default message: "Not found" (v10) or "NotFound" (k8s reasons)
    nested_folders: bool  # parentUid honoured (toggle off in v10, always on from 11.3)
    # The alerting provisioning routes also accept the permissions Editors and Viewers have (alert.rules:*,
    # alert.notifications:*, alert.provisioning.provenance:write): 11.0+ (grafana/grafana#77007, #85022,
    # #87149); before, alert.provisioning:read/write alone, i.e. Admin. The evaluators: server.py.
    provisioning_rbac: bool
    # The app-platform API (/apis dashboard.grafana.app v1beta1 + v2beta1, folder.grafana.app v1beta1):
    # served by 12.x and 13.x. Unified storage (the default from 13, grafana/grafana #118715): a save that
    # changes nothing keeps the version (generation). 13.x's /api/dashboards/db answers a version conflict
    # with 409 (grafana/grafana #122027) instead of 412.
    app_platform: bool = False
    unified_storage: bool = False
    legacy_conflict_status: int = 412


V11_3 = Profile(
    name="v11.3+",
    version="11.5.0",
    unique_titles=False,
    title_length_check=True,
    folder_uid_taken_status=409,
    delete_body_key="uid",
    post_answer_has_folder_uid=True,
    versions_envelope=True,
    rules_check_folder=True,
    not_found_reason="NotFound",
    nested_folders=True,
    provisioning_rbac=True,
)

V10 = Profile(
    name="v10",
    version="10.4.18",
    unique_titles=True,
    title_length_check=False,
    folder_uid_taken_status=412,
    delete_body_key="id",
    post_answer_has_folder_uid=False,
    versions_envelope=False,
    rules_check_folder=False,
    not_found_reason="Not found",
    nested_folders=False,
    provisioning_rbac=False,
)

# 12.3 and 13 are 11.3+ with the app-platform API (/apis); 13 also stores dashboards in unified storage
# and answers a legacy version conflict with 409 (grafana/grafana #122027).
V12_3 = replace(V11_3, name="v12.3", version="12.3.1", app_platform=True)

V13 = replace(V12_3, name="v13", version="13.2.1", unified_storage=True, legacy_conflict_status=409)

PROFILES = {profile.name: profile for profile in (V11_3, V10, V12_3, V13)}
