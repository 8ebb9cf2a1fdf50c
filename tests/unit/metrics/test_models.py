from __future__ import annotations

import math

from services.metrics.models import fact_from_event, unstorable_reason
from shared.tables import feedback_facts
from tests.unit.metrics.factories import T0, enriched


class TestFactFromEvent:
    def test_row_has_every_fact_column_but_updated_at(self) -> None:
        fact = fact_from_event(enriched())
        assert set(fact) == {c.name for c in feedback_facts.columns} - {"updated_at"}

    def test_topics_keep_order_and_first_is_primary(self) -> None:
        fact = fact_from_event(enriched(topics=("billing", "pricing")))
        assert fact["primary_topic"] == "billing"
        assert [t["label"] for t in fact["topics"]] == ["billing", "pricing"]

    def test_no_topics_means_no_primary_topic(self) -> None:
        fact = fact_from_event(enriched(topics=()))
        assert (fact["primary_topic"], fact["topics"]) == (None, [])

    def test_redacted_text_metadata_and_sentiment_are_carried(self) -> None:
        fact = fact_from_event(
            enriched(text="call [PHONE]", metadata={"form": "f1"}, sentiment=("negative", -0.5))
        )
        assert fact["redacted_text"] == "call [PHONE]"
        assert fact["metadata"] == {"form": "f1"}
        assert (fact["sentiment_label"], fact["sentiment_score"]) == ("negative", -0.5)

    def test_tombstone_drops_the_text_but_keeps_ordering_fields(self) -> None:
        event = enriched(revision="4", deleted=True, text="secret")
        fact = fact_from_event(event)
        assert fact["redacted_text"] is None
        assert (fact["deleted"], fact["revision_rank"], fact["event_id"]) == (
            True,
            4,
            event.event_id,
        )


class TestUnstorableReason:
    def test_ordinary_fact_is_storable(self) -> None:
        assert unstorable_reason(fact_from_event(enriched(metadata={"a": [1, "b"]}))) is None

    def test_nul_in_text_is_refused(self) -> None:
        reason = unstorable_reason(fact_from_event(enriched(text="a\x00b")))
        assert reason is not None and "NUL" in reason

    def test_nul_in_a_metadata_key_is_refused(self) -> None:
        assert unstorable_reason(fact_from_event(enriched(metadata={"k\x00": 1}))) is not None

    def test_revision_rank_beyond_bigint_is_refused(self) -> None:
        fact = fact_from_event(enriched(revision=str(2**63), received_at=T0))
        assert unstorable_reason(fact) == "revision_rank does not fit in 64 bits"

    def test_non_finite_metadata_number_is_refused(self) -> None:
        fact = fact_from_event(enriched(metadata={"x": math.nan}))
        reason = unstorable_reason(fact)
        assert reason is not None and reason.startswith("metadata is not representable as JSON")
