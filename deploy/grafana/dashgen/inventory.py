"""Every query a dashboard JSON runs, so tests can execute them against the real backends."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Query:
    dashboard: str  # uid
    panel: str  # title, or "variable <name>" for a variable's own query
    ref_id: str
    datasource: str  # "prometheus" or "postgres"
    text: str  # PromQL expr or raw SQL, Grafana's variables and macros still in place
    row: str = ""  # title of the row the panel sits in
    repeat: str | None = None  # the variable that row repeats over

    @property
    def key(self) -> tuple[str, str, str]:
        return self.dashboard, self.panel, self.ref_id


def _kind(ref: dict[str, Any] | None) -> str:
    kind = str((ref or {}).get("type", ""))
    return "postgres" if "postgres" in kind else kind


def _panels(board: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Each panel with the row it sits in ({} above the first row)."""
    row: dict[str, Any] = {}
    for panel in board.get("panels", []):
        if panel.get("type") == "row":
            row = panel
            # A collapsed row holds its panels; an open one is followed by them.
            for nested in panel.get("panels", []):
                yield nested, row
            continue
        yield panel, row


def queries(board: dict[str, Any]) -> list[Query]:
    out = []
    for panel, row in _panels(board):
        for target in panel.get("targets", []):
            kind = _kind(target.get("datasource") or panel.get("datasource"))
            text = target.get("expr") if kind == "prometheus" else target.get("rawSql")
            where = (board["uid"], panel["title"], target["refId"], kind, text or "")
            out.append(Query(*where, row=row.get("title", ""), repeat=row.get("repeat")))
    for var in board.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            title = f"variable {var['name']}"
            out.append(Query(board["uid"], title, "", _kind(var.get("datasource")), var["query"]))
    return out


def custom_values(board: dict[str, Any], name: str) -> list[str]:
    """The values of a custom variable ("a,b,c")."""
    for var in board.get("templating", {}).get("list", []):
        if var["name"] == name and var["type"] == "custom":
            return [v.strip() for v in var["query"].split(",")]
    raise KeyError(name)
