"""The outcome of one import: counts, what was rejected where and why, and the exit code."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from services.importer.records import Item

SHOWN = 20  # rejections listed in the text summary; --rejects has them all


@dataclass(frozen=True)
class Rejection:
    seq: int  # order in the file
    where: str
    line: int | None
    reason: str
    item: Item | None = None


@dataclass(frozen=True)
class Duplicate:
    where: str
    first: str  # where the same source, source id and revision was seen first


@dataclass
class Summary:
    file: str
    kind: str
    format: str
    read: int = 0
    accepted: int = 0
    duplicates: list[Duplicate] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    rejected: list[Rejection] = field(default_factory=list)
    batches: int = 0
    retries: int = 0
    elapsed_s: float = 0.0
    aborted: str | None = None  # why the import stopped early

    @property
    def unsent(self) -> int:
        """Records read but neither accepted, duplicate, skipped nor rejected (after an abort)."""
        done = self.accepted + len(self.duplicates) + self.skipped.total() + len(self.rejected)
        return self.read - done

    def exit_code(self) -> int:
        if self.aborted:
            return 2
        return 1 if self.rejected else 0

    def sorted_rejections(self) -> list[Rejection]:
        return sorted(self.rejected, key=lambda r: r.seq)

    def render(self, shown: int = SHOWN) -> str:
        rate = self.read / self.elapsed_s if self.elapsed_s > 0 else 0.0
        state = "stopped early" if self.aborted else "done"
        if self.aborted and self.read == 0:
            return f"voc import {self.file}: nothing sent\nerror: {self.aborted}"
        lines = [
            f"voc import {self.file} ({self.format} -> {self.kind}): {state} in "
            f"{self.elapsed_s:.1f} s, {rate:.0f} records/s",
            f"  read        {self.read}",
            f"  accepted    {self.accepted}",
            f"  duplicates  {len(self.duplicates)}"
            + (
                " (same source, source_id and revision as an earlier record: sent once)"
                if self.duplicates
                else ""
            ),
        ]
        lines += [f"    {d.where} repeats {d.first}" for d in self.duplicates[:shown]]
        lines += _more(len(self.duplicates), shown)
        lines.append(f"  skipped     {self.skipped.total()}")
        lines += [f"    {n} x {reason}" for reason, n in self.skipped.most_common()]
        lines.append(f"  rejected    {len(self.rejected)}")
        lines += [f"    {r.where}: {r.reason}" for r in self.sorted_rejections()[:shown]]
        lines += _more(len(self.rejected), shown)
        if self.aborted:
            lines.append(f"  not sent    {self.unsent}")
        lines.append(f"  requests    {self.batches} ({self.retries} retried)")
        if self.aborted:
            lines.append(f"error: {self.aborted}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "kind": self.kind,
            "format": self.format,
            "read": self.read,
            "accepted": self.accepted,
            "duplicates": [{"where": d.where, "first": d.first} for d in self.duplicates],
            "skipped": dict(self.skipped),
            "rejected": [
                {"where": r.where, "line": r.line, "reason": r.reason}
                for r in self.sorted_rejections()
            ],
            "not_sent": self.unsent,
            "requests": self.batches,
            "retries": self.retries,
            "elapsed_s": round(self.elapsed_s, 3),
            "aborted": self.aborted,
            "exit_code": self.exit_code(),
        }


def _more(total: int, shown: int) -> list[str]:
    return [f"    ... and {total - shown} more"] if total > shown else []
