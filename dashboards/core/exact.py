"""Value objects that render exactly what they hold: the layer imported dashboards are written in.

`python -m scripts.import` turns any Grafana dashboard into these (README: "Bring your dashboards"). Unlike
the chat panels (panels.py), they add no conventions of ours: every attrs field is the Grafana JSON key of
the same name (or the one its `key` metadata names), and a field left at None is absent from the JSON.
What a class does not model travels in its `raw=Raw({...})` field: merged over the object's own keys,
verbatim, nulls included. That is the typed, visible escape hatch: nothing a dashboard holds is dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import attr
from attr.validators import instance_of, optional

from dashboards.core.cleanup import merged, plain_json


@attr.s(frozen=True)
class Raw:
    """JSON our classes do not model, carried as it is and merged last over the object's own keys."""

    json: dict[str, Any] = attr.ib(validator=instance_of(dict))


def exact_json(value: Any) -> Any:
    """Serialise a tree of these objects. Plain dicts and lists are data and kept as they are (a threshold
    step's `"value": null` means -Infinity); chat objects keep their own null-free rendering."""
    if isinstance(value, JsonObject):
        return value.json()
    if hasattr(value, "to_json_data"):
        return plain_json(value)
    if isinstance(value, dict):
        return {key: exact_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [exact_json(item) for item in value]
    return value


def key(kind: Any = None, *, name: str | None = None, default: Any = None, factory: Any = None) -> Any:
    """A JSON key of an object: `kind` is the class (or `[Class]`, a list of them) the importer builds
    its value as; `name` the JSON key when it is not the field's name (`from` is a Python keyword)."""
    metadata = {"json": True, "kind": kind, "name": name}
    if factory is not None:
        return attr.ib(factory=factory, kw_only=True, metadata=metadata)
    return attr.ib(default=default, kw_only=True, metadata=metadata)


def raw_field() -> Any:
    return attr.ib(default=None, kw_only=True, validator=optional(instance_of(Raw)))


def field_default(field: Any) -> Any:
    """The value an attrs field takes when it is not given (a factory called)."""
    default = field.default
    return default.factory() if isinstance(default, attr.Factory) else default  # type: ignore[arg-type]


def json_fields(cls: type) -> Iterator[tuple[str, Any]]:
    """(JSON key, attrs field) of every JSON key the class models."""
    for field in attr.fields(cls):
        if field.metadata.get("json"):
            yield field.metadata.get("name") or field.name, field


@attr.s
class JsonObject:
    """Base of the exact classes: the JSON is the fields that are not None, then `raw` over them."""

    renders_exactly: ClassVar[bool] = True  # cleanup.plain_json keeps this JSON as it is
    raw: Raw | None = raw_field()

    def own_json(self) -> dict[str, Any]:
        """The object's modelled keys (subclasses derive or reshape some of them here)."""
        return {
            name: exact_json(getattr(self, field.name))
            for name, field in json_fields(type(self))
            if getattr(self, field.name) is not None
        }

    def json(self) -> dict[str, Any]:
        own = self.own_json()
        return merged(own, self.raw.json) if self.raw is not None else own

    def to_json_data(self) -> dict[str, Any]:
        return self.json()
