"""A small JSON Schema validator for the subset pydantic emits, for tests/unit/test_schemas.py.

It always runs, so the schema tests hold without the optional `jsonschema` package; where that
package is installed, `validate` checks with it as well. Unknown keywords fail rather than pass
silently, so a new pydantic construct cannot slip through unchecked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

try:  # optional: the structural validator below always runs
    import jsonschema
except ImportError:
    jsonschema = None


class SchemaViolation(AssertionError):
    """An instance the schema does not accept, with where in it and why."""


_ANNOTATIONS = {"title", "description", "default", "$comment", "$schema", "$defs", "examples"}
_KINDS = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
_FORMATS = {
    "uuid": lambda s: UUID(s) is not None,
    "date-time": lambda s: datetime.fromisoformat(s.replace("Z", "+00:00")).tzinfo is not None,
}


def check(instance: Any, schema: dict[str, Any], root: dict[str, Any], at: str = "$") -> None:
    """A small validator for the JSON Schema subset pydantic emits; unknown keywords fail."""
    for key, rule in schema.items():
        if key in _ANNOTATIONS or key in {"properties", "additionalProperties"}:
            continue
        if key == "$ref":
            target: Any = root
            for part in rule.removeprefix("#/").split("/"):
                target = target[part]
            check(instance, target, root, at)
        elif key == "type":
            if rule in _KINDS:
                ok = isinstance(instance, _KINDS[rule])
            elif rule == "integer":
                ok = isinstance(instance, int) and not isinstance(instance, bool)
            elif rule == "number":
                ok = isinstance(instance, int | float) and not isinstance(instance, bool)
            else:
                raise SchemaViolation(f"{at}: unsupported type {rule}")
            if not ok:
                raise SchemaViolation(f"{at}: {instance!r} is not {rule}")
        elif key == "anyOf":
            errors = []
            for option in rule:
                try:
                    check(instance, option, root, at)
                    break
                except SchemaViolation as exc:
                    errors.append(str(exc))
            else:
                raise SchemaViolation(f"{at}: matches no option: {errors}")
        elif key == "required":
            if not isinstance(instance, dict):
                continue
            missing = set(rule) - set(instance)
            if missing:
                raise SchemaViolation(f"{at}: missing {sorted(missing)}")
        elif key in {"enum", "const"}:
            allowed = rule if key == "enum" else [rule]
            if instance not in allowed:
                raise SchemaViolation(f"{at}: {instance!r} not in {allowed}")
        elif key in {"minimum", "maximum"}:
            if not isinstance(instance, int | float):
                continue
            if (instance < rule) if key == "minimum" else (instance > rule):
                raise SchemaViolation(f"{at}: {instance!r} violates {key} {rule}")
        elif key in {"maxLength", "maxItems"}:
            if isinstance(instance, str if key == "maxLength" else list) and len(instance) > rule:
                raise SchemaViolation(f"{at}: longer than {rule}")
        elif key == "items":
            for i, item in enumerate(instance if isinstance(instance, list) else []):
                check(item, rule, root, f"{at}[{i}]")
        elif key == "format":
            if not isinstance(instance, str):
                continue
            if rule not in _FORMATS:
                raise SchemaViolation(f"{at}: format {rule!r} unknown to this validator")
            try:
                assert _FORMATS[rule](instance)
            except (ValueError, AssertionError) as exc:
                raise SchemaViolation(f"{at}: {instance!r} is not a {rule}") from exc
        else:
            raise SchemaViolation(f"{at}: keyword {key!r} unknown to this validator")
    if isinstance(instance, dict) and "properties" in schema:
        props = schema["properties"]
        for name, value in instance.items():
            if name in props:
                check(value, props[name], root, f"{at}.{name}")
            elif schema.get("additionalProperties") is False:
                raise SchemaViolation(f"{at}: unexpected property {name!r}")


def validate(instance: Any, schema: dict[str, Any]) -> None:
    check(instance, schema, schema)
    if jsonschema is not None:
        jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        ).validate(instance)
