"""Build dashboards.core exact objects from dashboard JSON: every key a class models becomes its field,
every other key goes into the object's `raw=Raw({...})` and is noted, so nothing is dropped silently.

Which class a value is built as comes from the field's `kind` metadata (dashboards/core/exact.py); panels,
queries and variables are chosen by their `type` (a query by its datasource's type).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import attr

from dashboards.core.exact import Raw, field_default, json_fields
from dashboards.core.exact_dashboard import VARIABLE_TYPES, Annotation, ForeignDashboard, Variable
from dashboards.core.exact_panels import (
    FROM_QUERIES,
    PANEL_TYPES,
    QUERY_KINDS,
    ExactPanel,
    LibraryPanel,
    LokiQuery,
    PluginPanel,
    PromQuery,
    Query,
    RowPanel,
)
from dashboards.core.panels import targets_datasource

# Keys a class writes itself (its `type`), so the JSON's copy is not carried again.
OWN_TYPE_KEY = "type"


class ImportRefused(Exception):
    """The dashboard holds something no class and no escape hatch can carry: one line says what."""


@dataclass
class Notes:
    """What the import could not express with modelled fields: one line each, printed on stderr."""

    lines: list[str] = field(default_factory=list)

    def add(self, where: str, message: str) -> None:
        self.lines.append(f"{where}: {message}")


def _positional(cls: type) -> list[str]:
    """Mandatory fields given by position (a query's `expr`, a variable's `name`), not made by `key()`."""
    return [
        f.name
        for f in attr.fields(cls)
        if not f.metadata.get("json") and f.init and not f.kw_only and f.default is attr.NOTHING
    ]


def build(
    cls: type, data: dict[str, Any], where: str, notes: Notes, skip: frozenset[str] = frozenset()
) -> Any:
    """An instance of `cls` holding `data`: modelled keys as fields, the rest (and explicit nulls) as raw."""
    fields = dict(json_fields(cls))
    positional = set(_positional(cls))
    kwargs: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    for name, value in data.items():
        if name in skip:
            continue
        if name in positional and value is not None:
            kwargs[name] = value
        elif name in fields and value is not None:
            kwargs[fields[name].name] = convert(
                fields[name].metadata.get("kind"), value, f"{where}.{name}", notes
            )
        else:
            raw[name] = value
    for name, field_ in fields.items():
        if name not in data and field_default(field_) is not None:
            kwargs[field_.name] = None  # absent in the JSON, where the class would write its default
    if raw:
        kwargs["raw"] = Raw(raw)
        notes.add(where, f"not modelled, carried as Raw: {', '.join(sorted(raw))}")
    return cls(**kwargs)


def convert(kind: Any, value: Any, where: str, notes: Notes) -> Any:
    """`value` built as `kind` (a class, or [class] for a list of them); plain data stays data."""
    if kind is None:
        return value
    if isinstance(kind, list):
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            return value
        return [element(kind, item, f"{where}[{i}]", notes) for i, item in enumerate(value)]
    return build(kind, value, where, notes) if isinstance(value, dict) else value


def element(kinds: list[type], item: dict[str, Any], where: str, notes: Notes) -> Any:
    if kinds is QUERY_KINDS:
        return query(item, None, where, notes)
    if kinds == [Variable]:
        return variable(item, where, notes)
    return build(kinds[0], item, where, notes)


def query(item: dict[str, Any], panel_type: str | None, where: str, notes: Notes) -> Any:
    """A query by its datasource's plugin type (or the panel's, when the query names none)."""
    datasource = item.get("datasource")
    plugin = datasource.get("type") if isinstance(datasource, dict) else panel_type
    cls = {"prometheus": PromQuery, "loki": LokiQuery}.get(str(plugin), Query)
    if cls is not Query and not isinstance(item.get("expr"), str):
        cls = Query
    return build(cls, item, where, notes)


def variable(item: dict[str, Any], where: str, notes: Notes) -> Any:
    cls = VARIABLE_TYPES.get(str(item.get("type")))
    name = item.get("name")
    if cls is None or not isinstance(name, str):
        raise ImportRefused(
            f"{where}: template variable of type {item.get('type')!r} without a name cannot be carried"
        )
    return build(cls, item, f"variable {name}", notes, skip=frozenset({OWN_TYPE_KEY}))


def panel(item: dict[str, Any], notes: Notes) -> ExactPanel:
    """A panel of the class of its type; a plugin (or old Angular) type as PluginPanel, noted."""
    type_name = item.get("type")
    where = f"panel {item.get('title', '')!r} (id {item.get('id')})"
    if "libraryPanel" in item:
        notes.add(
            where, "library panel: its model stays in Grafana's library (the dashboard holds the reference)"
        )
        return build(LibraryPanel, item, where, notes)
    cls = PANEL_TYPES.get(str(type_name))
    if cls is None:
        notes.add(
            where, f"panel type {type_name!r} is not modelled: carried as PluginPanel, its options as data"
        )
        built = build(PluginPanel, item, where, notes)
    else:
        data = dict(item)
        options = data.pop("options", None)
        nested = data.pop("panels", None) if cls is RowPanel else None
        built = build(cls, data, where, notes, skip=frozenset({OWN_TYPE_KEY}))
        if options is not None:
            options_value = (
                build(cls.OPTIONS, options, f"{where}.options", notes)
                if cls.OPTIONS and isinstance(options, dict)
                else options
            )
            built = attr.evolve(built, options=options_value)
        if nested is not None:
            built = attr.evolve(built, panels=[panel(p, notes) for p in nested])
    derived = targets_datasource(built.targets or [])
    if not isinstance(built, RowPanel) and built.datasource is not None and built.datasource == derived:
        built = attr.evolve(built, datasource=FROM_QUERIES)
    return built


def annotation(item: dict[str, Any], where: str, notes: Notes) -> Annotation:
    if not isinstance(item.get("name"), str):
        raise ImportRefused(f"{where}: an annotation without a name cannot be carried")
    return build(Annotation, item, f"annotation {item['name']!r}", notes)


def dashboard(data: dict[str, Any], panels: list[Any], notes: Notes) -> ForeignDashboard:
    """The dashboard object; `panels` are already laid out (see layout.py)."""
    body = dict(data)
    templating = body.pop("templating", None) or {}
    annotations = body.pop("annotations", None) or {}
    body.pop("panels", None)
    for name, part in (("templating", templating), ("annotations", annotations)):
        extra = sorted(set(part) - {"list"}) if isinstance(part, dict) else ["(not an object)"]
        if extra:
            raise ImportRefused(f"{name} holds {', '.join(extra)} besides its list: cannot be carried")
    built = build(ForeignDashboard, body, "dashboard", notes)
    variables = [variable(v, "templating", notes) for v in templating.get("list", [])]
    marks = [annotation(a, "annotations", notes) for a in annotations.get("list", [])]
    return attr.evolve(built, panels=panels, variables=variables, annotations=marks)
