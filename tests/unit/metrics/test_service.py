from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from services.metrics.contributions import rollup_key
from services.metrics.models import Fact, fact_from_event
from services.metrics.service import collapse, plan
from tests.unit.metrics.factories import T0, enriched


def _fact(source_id: str = "item-1", **kw: object) -> Fact:
    return fact_from_event(enriched(source_id, **kw))  # type: ignore[arg-type]


def _stored(*facts: Fact) -> dict[UUID, Fact]:
    return {f["feedback_id"]: f for f in facts}


class TestCollapse:
    def test_newest_revision_wins_whatever_the_order(self) -> None:
        got = collapse(
            [_fact(revision="3", nps=9), _fact(revision="1", nps=1), _fact(revision="2", nps=5)]
        )
        assert [f["revision"] for f in got.latest] == ["3"]
        assert got.skipped == {"stale": 2}

    def test_equal_rank_is_decided_by_received_at(self) -> None:
        early = _fact(revision="draft", received_at=T0, nps=1)
        late = _fact(revision="final", received_at=T0 + timedelta(seconds=1), nps=10)
        assert collapse([late, early]).latest == [late]

    def test_repeated_event_is_counted_as_duplicate(self) -> None:
        got = collapse([_fact(revision="1"), _fact(revision="1")])
        assert len(got.latest) == 1
        assert got.skipped == {"duplicate": 1}

    def test_different_items_are_all_kept(self) -> None:
        got = collapse([_fact("a"), _fact("b"), _fact("a", revision="2")])
        assert sorted(f["source_id"] for f in got.latest) == ["a", "b"]


class TestPlan:
    def test_new_item_is_inserted_with_its_contribution(self) -> None:
        fact = _fact(nps=10, csat=5)
        out = plan(collapse([fact]), {})
        assert out.facts == [fact]
        assert out.written == {"inserted": 1}
        assert out.deltas == {
            rollup_key(fact): {
                "n": 1,
                "nps_n": 1,
                "nps_promoters": 1,
                "csat_n": 1,
                "csat_sum": 5,
                "csat_satisfied": 1,
            }
        }

    def test_duplicate_of_stored_version_changes_nothing(self) -> None:
        stored = _fact(nps=10)
        out = plan(collapse([_fact(nps=10, received_at=T0 + timedelta(days=1))]), _stored(stored))
        assert (out.facts, out.deltas, out.skipped) == ([], {}, {"duplicate": 1})

    def test_older_revision_than_stored_changes_nothing(self) -> None:
        stored = _fact(revision="5", nps=10)
        out = plan(collapse([_fact(revision="4", nps=0)]), _stored(stored))
        assert (out.facts, out.deltas, out.skipped) == ([], {}, {"stale": 1})

    def test_newer_revision_moves_contribution_to_its_new_key(self) -> None:
        old = _fact(revision="1", touchpoint="checkout", nps=3)
        new = _fact(revision="2", touchpoint="delivery", nps=9)
        out = plan(collapse([new]), _stored(old))
        assert out.facts == [new]
        assert out.written == {"updated": 1}
        assert out.deltas == {
            rollup_key(old): {"n": -1, "nps_n": -1, "nps_detractors": -1},
            rollup_key(new): {"n": 1, "nps_n": 1, "nps_promoters": 1},
        }

    def test_newer_revision_on_same_key_only_shifts_the_changed_parts(self) -> None:
        old = _fact(revision="1", nps=3, csat=4)
        new = _fact(revision="2", nps=10, csat=4)
        out = plan(collapse([new]), _stored(old))
        assert out.deltas == {rollup_key(new): {"nps_detractors": -1, "nps_promoters": 1}}

    def test_newer_revision_with_same_scores_writes_fact_without_rollup_change(self) -> None:
        out = plan(collapse([_fact(revision="2", text="edited")]), _stored(_fact(revision="1")))
        assert len(out.facts) == 1
        assert out.deltas == {}

    def test_delete_takes_contribution_out_and_writes_tombstone(self) -> None:
        old = _fact(revision="1", stars=4)
        gone = _fact(revision="2", deleted=True)
        out = plan(collapse([gone]), _stored(old))
        assert out.facts == [gone]
        assert out.written == {"deleted": 1}
        assert out.deltas == {
            rollup_key(old): {"n": -1, "stars_n": -1, "stars_sum": -4, "stars_sumsq": -16}
        }

    def test_older_version_after_delete_does_not_resurrect(self) -> None:
        tombstone = _fact(revision="2", deleted=True)
        out = plan(collapse([_fact(revision="1", nps=10)]), _stored(tombstone))
        assert (out.facts, out.deltas) == ([], {})

    def test_delete_of_unknown_item_stores_tombstone_only(self) -> None:
        out = plan(collapse([_fact(revision="2", deleted=True, nps=10)]), {})
        assert len(out.facts) == 1 and out.facts[0]["deleted"]
        assert out.deltas == {}

    def test_several_versions_in_one_batch_count_only_the_newest(self) -> None:
        batch = [_fact(revision="1", nps=0), _fact(revision="3", nps=10), _fact(revision="2")]
        out = plan(collapse(batch), {})
        assert [f["revision"] for f in out.facts] == ["3"]
        assert out.deltas[rollup_key(batch[1])] == {"n": 1, "nps_n": 1, "nps_promoters": 1}
        assert out.skipped == {"stale": 2}

    def test_facts_come_out_sorted_by_feedback_id(self) -> None:
        out = plan(collapse([_fact(str(i)) for i in range(20)]), {})
        ids = [f["feedback_id"] for f in out.facts]
        assert ids == sorted(ids)
