"""Template variables in the shape Grafana 11/12 stores them.

grafanalib's `Template` emits legacy keys (`useTags`, `tagsQuery`, `auto_count`, ...) and a `current`
that names a single default. These emit the current model; multi-value variables start at "All".
Without a custom allValue, "All" expands to the values the query found, e.g. job=~"(chat)", so it never
widens a query to series the variable's own query does not list.
"""

from __future__ import annotations

from typing import Any

import attr
from attr.validators import deep_iterable, instance_of

ALL = {"text": ["All"], "value": ["$__all"]}
REFRESH_ON_TIME_RANGE_CHANGE = 2
SORT_ALPHABETICAL = 1


@attr.s
class DatasourceVariable:
    """Lets a viewer switch datasources of one plugin type; defaults to the provisioned UID."""

    name: str = attr.ib(validator=instance_of(str))
    label: str = attr.ib(validator=instance_of(str))
    plugin: str = attr.ib(validator=instance_of(str))
    default_uid: str = attr.ib(validator=instance_of(str))

    def to_json_data(self) -> dict[str, Any]:
        return {
            "current": {"text": self.default_uid, "value": self.default_uid},
            "hide": 0,
            "includeAll": False,
            "label": self.label,
            "multi": False,
            "name": self.name,
            "options": [],
            "query": self.plugin,
            "refresh": 1,
            "regex": "",
            "type": "datasource",
        }


@attr.s
class QueryVariable:
    """Values from a datasource query such as `label_values(metric, label)`; multi-select with All."""

    name: str = attr.ib(validator=instance_of(str))
    label: str = attr.ib(validator=instance_of(str))
    query: str = attr.ib(validator=instance_of(str))
    datasource: dict[str, str] = attr.ib(validator=instance_of(dict))

    def to_json_data(self) -> dict[str, Any]:
        return {
            "current": ALL,
            "datasource": self.datasource,
            "definition": self.query,
            "hide": 0,
            "includeAll": True,
            "label": self.label,
            "multi": True,
            "name": self.name,
            "options": [],
            "query": self.query,
            "refresh": REFRESH_ON_TIME_RANGE_CHANGE,
            "regex": "",
            "sort": SORT_ALPHABETICAL,
            "type": "query",
        }


@attr.s
class CustomVariable:
    """A fixed list of values (e.g. log levels); multi-select with All."""

    name: str = attr.ib(validator=instance_of(str))
    label: str = attr.ib(validator=instance_of(str))
    values: tuple[str, ...] = attr.ib(converter=tuple, validator=deep_iterable(instance_of(str)))

    def to_json_data(self) -> dict[str, Any]:
        return {
            "current": ALL,
            "hide": 0,
            "includeAll": True,
            "label": self.label,
            "multi": True,
            "name": self.name,
            "options": [{"selected": False, "text": v, "value": v} for v in self.values],
            "query": ",".join(self.values),
            "type": "custom",
        }
