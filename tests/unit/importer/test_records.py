"""The identity the importer predicts for an item is the one the service gives it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.importer.records import identity, revision_of
from services.surveys.models import SurveyResponse
from services.surveys.service import to_feedback
from shared.events import RawFeedbackEvent

BASE = {"source": "typeform", "source_id": "r-1", "occurred_at": "2025-01-01T00:00:00Z", "nps": 9}


def _service_event_id(item: dict[str, Any]) -> bytes:
    feedback = to_feedback(SurveyResponse.model_validate(item), datetime.now(UTC))
    return RawFeedbackEvent.wrap(feedback, producer="surveys").event_id.bytes


class TestIdentity:
    @pytest.mark.parametrize(
        "extra",
        [
            {},
            {"revision": 3},
            {"revision": "v2"},
            {"updated_at": "2025-02-01T10:00:00Z"},
            {"updated_at": "2025-02-01T10:00:00"},
            {"updated_at": "2025-02-01T11:00:00+01:00"},
            {"updated_at": 1738404000},
            {"revision": "7", "updated_at": "2025-02-01T10:00:00Z"},
        ],
        ids=["none", "int", "text", "utc", "zoneless", "offset", "unix", "revision-wins"],
    )
    def test_predicted_event_id_matches_the_services(self, extra: dict[str, Any]) -> None:
        item = {**BASE, **extra}

        assert identity(item) == _service_event_id(item)

    def test_revision_falls_back_to_updated_at_then_zero(self) -> None:
        assert revision_of({"revision": 5, "updated_at": "2025-01-01T00:00:00Z"}) == "5"
        assert revision_of({"updated_at": "2025-01-01T00:00:00Z"}) == "2025-01-01T00:00:00+00:00"
        assert revision_of({}) == "0"

    def test_item_without_usable_identity_has_none(self) -> None:
        assert identity({"source": "x"}) is None
        assert identity({"source": "x", "source_id": 12}) is None  # the service rejects it
        assert identity({"source": "x", "source_id": "1", "updated_at": "soon"}) is None
