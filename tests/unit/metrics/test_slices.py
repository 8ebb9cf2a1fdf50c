"""Slice keys and slice deltas: which score_slices rows a fact adds to, and how a new version
moves its parts (service.plan)."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from services.metrics import rebuild
from services.metrics.contributions import parts, slice_keys, slice_topics
from services.metrics.models import Fact, fact_from_event
from services.metrics.service import collapse, plan
from shared.tables import (
    ROLLUP_MEASURES,
    SLICE_DIMENSIONS,
    SLICES,
    SLICES_BY_NAME,
    hourly_twin,
)
from tests.unit.metrics.factories import enriched

BUCKET = datetime(2026, 11, 2, 14, tzinfo=UTC)
DAY = datetime(2026, 11, 2, tzinfo=UTC)
VERSIONS = Path(__file__).resolve().parents[3] / "services/metrics/migrations/versions"
MIGRATION = VERSIONS / "2026_11_23_0006_score_slices.py"
DAILY_MIGRATION = VERSIONS / "2026_11_23_0009_daily_slices.py"
MORE_DAILY_MIGRATION = VERSIONS / "2026_11_23_0010_more_day_slices.py"
DAY_MIGRATIONS = (DAILY_MIGRATION, MORE_DAILY_MIGRATION)


def _fact(source_id: str = "item-1", **kw: Any) -> Fact:
    return fact_from_event(enriched(source_id, **kw))


def _stored(*facts: Fact) -> dict[UUID, Fact]:
    return {f["feedback_id"]: f for f in facts}


def _key(name: str, bucket: datetime = BUCKET, **dims: str) -> tuple[Any, ...]:
    return (name, *(dims.get(d, "") for d in SLICE_DIMENSIONS), bucket)


def _by_slice(deltas: dict[tuple[Any, ...], Any]) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    for key in deltas:
        out.setdefault(key[0], []).append(key)
    return out


class TestSliceKeys:
    def test_a_fact_adds_to_one_row_of_each_slice_keeping_only_its_dimensions(self) -> None:
        fact = _fact(touchpoint="delivery", channel="email", segment="smb", topics=("pricing",))
        place = {"touchpoint": "delivery", "journey_stage": "retention"}
        who = {"audience": "customer"}
        assert slice_keys(fact) == (
            _key("touchpoint", **place, **who),
            _key("stage", journey_stage="retention", **who),
            _key("channel", channel="email", **who),
            _key("touchpoint_channel", **place, channel="email", **who),
            _key("touchpoint_survey", **place, source_kind="survey", survey_type="transactional",
                 **who),
            _key("topic", topic="pricing", **who),
            _key("topic_touchpoint", topic="pricing", **place, **who),
            _key("topic_channel", topic="pricing", channel="email", **who),
            _key("touchpoint_day", **place, **who, bucket=DAY),
            _key("channel_day", channel="email", **who, bucket=DAY),
            _key("topic_touchpoint_day", topic="pricing", **place, **who, bucket=DAY),
            _key("stage_day", journey_stage="retention", **who, bucket=DAY),
            _key("topic_day", topic="pricing", **who, bucket=DAY),
        )  # fmt: skip

    def test_a_day_slice_row_is_keyed_by_the_utc_midnight_of_the_facts_hour(self) -> None:
        late = datetime(2026, 11, 2, 23, 59, tzinfo=UTC)
        keys = {k[0]: k[-1] for k in slice_keys(_fact(occurred_at=late))}
        assert keys["touchpoint"] == datetime(2026, 11, 2, 23, tzinfo=UTC)
        day_keys = [keys[s.name] for s in SLICES if s.grain == "day"]
        assert day_keys == [DAY] * 5
        stockholm = datetime(2026, 11, 3, 0, 30, tzinfo=ZoneInfo("Europe/Stockholm"))
        keys = {k[0]: k[-1] for k in slice_keys(_fact(occurred_at=stockholm))}
        assert keys["touchpoint_day"] == DAY  # 23:30 UTC on the 2nd

    def test_each_distinct_topic_gets_a_row_in_every_topic_slice(self) -> None:
        fact = _fact(topics=("delivery", "pricing", "delivery"))
        keys = slice_keys(fact)
        topic_slices = [s.name for s in SLICES if s.has_topic]
        assert len(keys) == len(SLICES) + len(topic_slices)
        assert sorted(k[1] for k in keys if k[0] == "topic_channel") == ["delivery", "pricing"]

    def test_a_fact_without_topics_lands_in_topic_blank(self) -> None:
        keys = slice_keys(_fact(topics=()))
        assert len(keys) == len(SLICES)
        assert {k[1] for k in keys} == {""}

    def test_non_survey_item_has_blank_survey_dimensions_and_audience(self) -> None:
        key = slice_keys(_fact(kind="review", stars=4))[4]
        assert key == _key(
            "touchpoint_survey", touchpoint="checkout", journey_stage="conversion",
            source_kind="review",
        )  # fmt: skip

    def test_employee_audience_is_kept_in_every_slice(self) -> None:
        keys = slice_keys(_fact(nps=3, audience="employee"))
        assert {k[SLICE_DIMENSIONS.index("audience") + 1] for k in keys} == {"employee"}

    def test_malformed_topic_entries_are_ignored(self) -> None:
        fact = {"topics": [{"score": 1}, "delivery", {"label": 3}, {"label": "returns"}]}
        assert slice_topics(fact) == ("returns",)
        assert slice_topics({"topics": {"label": "returns"}}) == ("",)
        assert slice_topics({"topics": None}) == ("",)


class TestPlanSliceDeltas:
    def test_new_item_adds_its_parts_to_each_slice_row(self) -> None:
        fact = _fact(nps=10, topics=("delivery", "pricing"))
        out = plan(collapse([fact]), {})
        assert set(out.slice_deltas) == set(slice_keys(fact))
        assert all(row == parts(fact) for row in out.slice_deltas.values())
        assert list(out.slice_deltas) == sorted(out.slice_deltas)

    def test_topic_change_moves_only_the_topic_slices(self) -> None:
        old = _fact(revision="1", nps=2, topics=("delivery",))
        new = _fact(revision="2", nps=2, topics=("pricing", "returns"))
        out = plan(collapse([new]), _stored(old))
        moved = _by_slice(out.slice_deltas)
        assert set(moved) == {
            "topic", "topic_touchpoint", "topic_channel", "topic_touchpoint_day", "topic_day",
        }  # fmt: skip
        topic_rows = {k[1]: out.slice_deltas[k]["n"] for k in moved["topic"]}
        assert topic_rows == {"delivery": -1, "pricing": 1, "returns": 1}
        assert out.deltas == {}

    def test_channel_change_moves_only_the_slices_with_channel(self) -> None:
        old = _fact(revision="1", channel="web", stars=3)
        new = _fact(revision="2", channel="email", stars=3)
        out = plan(collapse([new]), _stored(old))
        assert set(_by_slice(out.slice_deltas)) == {
            "channel", "touchpoint_channel", "topic_channel", "channel_day",
        }  # fmt: skip
        channel = {k[5]: v for k, v in out.slice_deltas.items() if k[0] == "channel"}
        assert channel == {
            "web": {"n": -1, "stars_n": -1, "stars_sum": -3, "stars_sumsq": -9},
            "email": {"n": 1, "stars_n": 1, "stars_sum": 3, "stars_sumsq": 9},
        }

    def test_score_change_on_the_same_rows_shifts_only_the_changed_parts(self) -> None:
        old = _fact(revision="1", nps=3, topics=("delivery", "pricing"))
        new = _fact(revision="2", nps=10, topics=("delivery", "pricing"))
        out = plan(collapse([new]), _stored(old))
        assert set(out.slice_deltas) == set(slice_keys(new))
        assert {str(v) for v in out.slice_deltas.values()} == {
            str({"nps_detractors": -1, "nps_promoters": 1})
        }

    def test_delete_takes_the_parts_out_of_every_slice_row(self) -> None:
        old = _fact(revision="1", ces=6, topics=("returns", "billing"))
        out = plan(collapse([_fact(revision="2", deleted=True)]), _stored(old))
        assert set(out.slice_deltas) == set(slice_keys(old))
        assert all(
            row == {m: -v for m, v in parts(old).items()} for row in out.slice_deltas.values()
        )

    def test_duplicate_and_stale_versions_change_no_slice(self) -> None:
        stored = _fact(revision="5", nps=10)
        assert plan(collapse([_fact(revision="5", nps=10)]), _stored(stored)).slice_deltas == {}
        assert plan(collapse([_fact(revision="4", nps=0)]), _stored(stored)).slice_deltas == {}


def _migration(path: Path = MIGRATION) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"migration_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestFrozenCopies:
    def test_the_migrations_backfill_the_slices_defined_today(self) -> None:
        hourly, *daily = (_migration(p) for p in (MIGRATION, *DAY_MIGRATIONS))
        frozen = [(name, dims, "hour") for name, dims in hourly.SLICES]
        frozen += [(name, dims, "day") for m in daily for name, dims, _ in m.SLICES]
        assert [(s.name, s.dimensions, s.grain) for s in SLICES] == frozen
        for m in (hourly, *daily):
            assert (m.DIMENSIONS, m.MEASURES) == (SLICE_DIMENSIONS, ROLLUP_MEASURES)

    def test_each_day_slice_is_backfilled_from_its_hourly_twin(self) -> None:
        twins = [t for p in DAY_MIGRATIONS for t in _migration(p).SLICES]
        assert [name for name, _, _ in twins] == [s.name for s in SLICES if s.grain == "day"]
        for name, dims, twin in twins:
            assert SLICES_BY_NAME[twin].dimensions == dims
            assert SLICES_BY_NAME[twin].grain == "hour"
            assert hourly_twin(SLICES_BY_NAME[name]).name == twin

    def test_0010_backfills_with_the_statement_of_0009(self) -> None:
        old, new = (_migration(p) for p in DAY_MIGRATIONS)
        assert (old.DAY, new.revision, new.down_revision) == (new.DAY, "0010", old.revision)
        for name, dims, twin in new.SLICES:
            assert new._backfill_sql(name, dims, twin) == old._backfill_sql(name, dims, twin)
            assert f"WHERE slice = '{twin}' AND n > 0 GROUP BY {new.DAY}, " in (
                new._backfill_sql(name, dims, twin)
            )

    def test_the_migration_aggregates_are_the_rebuild_aggregates_today(self) -> None:
        assert _migration().FACT_AGGREGATES == rebuild.FACT_AGGREGATES
        assert tuple(rebuild.FACT_AGGREGATES) == ROLLUP_MEASURES


class TestRebuildSummary:
    def test_lines_name_the_rows_per_table_and_slice(self) -> None:
        summary = rebuild.RebuildSummary(12, {"topic": 3, "stage": 2}, 1.234, dry_run=True)
        assert summary.lines() == [
            "rollups-rebuild: would write score_rollups 12 rows, score_slices 5 rows in 1.23 s"
            " (dry run: nothing written)",
            "  topic: 3",
            "  stage: 2",
        ]

    def test_topic_base_keeps_every_dimension_of_a_topic_slice(self) -> None:
        assert rebuild.topic_base_dimensions(SLICES) == (
            "topic", "touchpoint", "journey_stage", "channel", "audience",
        )  # fmt: skip
