"""What Grafana does to a query before the datasource sees it, so tests can run the same text.

Template variables follow Grafana's frontend: `$name`, `${name}` and `[[name]]`; a multi-value
or include-all variable becomes a quoted list ('a','b') in SQL. The SQL time macros follow
Grafana's PostgreSQL macro engine (pkg/tsdb/grafana-postgresql-datasource/macros.go), without
TimescaleDB.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

_VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+)\]\]|\$\{(\w+)\}")
# Grafana's own pattern: a macro's arguments cannot contain ')'.
_MACRO = re.compile(r"\$([_a-zA-Z0-9]+)\(([^\)]*)\)")
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d|w|y)$")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}

Value = str | Sequence[str]


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def interpolate(text: str, values: Mapping[str, Value], *, sql: bool) -> str:
    """Replace the variables named in `values`; anything else ($__timeFilter(...)) stays."""

    def sub(m: re.Match[str]) -> str:
        name = next(g for g in m.groups() if g)
        if name not in values:
            return m.group(0)
        value = values[name]
        if isinstance(value, str):
            return value
        if sql:
            return ",".join(sql_literal(v) for v in value)
        return "(" + "|".join(re.escape(v) for v in value) + ")" if len(value) > 1 else value[0]

    return _VARIABLE.sub(sub, text)


def _seconds(interval: str) -> str:
    m = _DURATION.match(interval.strip("'"))
    if not m:
        raise ValueError(f"bad interval {interval!r}")
    seconds = int(m.group(1)) * _SECONDS[m.group(2)]
    return f"{seconds:g}"


def _rfc3339(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def sql_macros(sql: str, time_from: datetime, time_to: datetime) -> str:
    """Expand $__timeFilter, $__timeFrom/$__timeTo, $__timeGroup(Alias) and friends."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        args = [a.strip() for a in m.group(2).split(",")]
        if name == "__timeGroup" and sql[m.end() : m.end() + 1] == ",":
            name = "__timeGroupAlias"  # Grafana's pre-5.3 compatibility rule
        if name == "__time":
            return f'{args[0]} AS "time"'
        if name == "__timeEpoch":
            return f'extract(epoch from {args[0]}) as "time"'
        if name == "__timeFilter":
            return f"{args[0]} BETWEEN '{_rfc3339(time_from)}' AND '{_rfc3339(time_to)}'"
        if name == "__timeFrom":
            return f"'{_rfc3339(time_from)}'"
        if name == "__timeTo":
            return f"'{_rfc3339(time_to)}'"
        if name in ("__timeGroup", "__timeGroupAlias"):
            s = _seconds(args[1])
            group = f"floor(extract(epoch from {args[0]})/{s})*{s}"
            return group + (' AS "time"' if name == "__timeGroupAlias" else "")
        if name == "__unixEpochFilter":
            lo, hi = int(time_from.timestamp()), int(time_to.timestamp())
            return f"{args[0]} >= {lo} AND {args[0]} <= {hi}"
        raise ValueError(f"macro ${name} not supported by this test helper")

    return _MACRO.sub(sub, sql)
