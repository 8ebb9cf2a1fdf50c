"""Delighted adapter: token auth, survey type → score, updated_at as the revision."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.surveys.adapters.delighted import DelightedAdapter
from services.surveys.models import SurveyResponse
from shared.ingest.errors import InvalidPayload
from shared.ingest.webhooks import AuthFailure, Ignored
from tests.unit.ingest.webhooks import vendors
from tests.unit.ingest.webhooks.support import delivery, first_loc

TOKEN = vendors.SECRETS["delighted"]


def _parse(payload: dict[str, Any]) -> list[Any]:
    return list(DelightedAdapter().parse(delivery("delighted", vendors.dumps(payload), {})))


class TestDelightedAdapter:
    @pytest.mark.parametrize("headers", [vendors.bearer(), vendors.basic()])
    def test_bearer_or_basic_token_verifies(self, headers: dict[str, str]) -> None:
        DelightedAdapter().verify(delivery("delighted", b"{}", headers), TOKEN)

    def test_wrong_token_fails(self) -> None:
        with pytest.raises(AuthFailure) as exc:
            DelightedAdapter().verify(delivery("delighted", b"{}", vendors.bearer("nope")), TOKEN)
        assert exc.value.reason == "bad_token"

    def test_created_then_updated_is_one_item_with_a_newer_revision(self) -> None:
        [created] = _parse(
            vendors.delighted(
                event_type="survey_response.created", comment=None, updated_at=1732186844
            )
        )
        [updated] = _parse(vendors.delighted(updated_at=1732187444))
        assert isinstance(created, SurveyResponse) and isinstance(updated, SurveyResponse)
        assert created.source_id == updated.source_id == "5435"
        assert str(created.revision) < str(updated.revision)  # ISO UTC strings order by time
        assert (created.nps, created.comment) == (9, None)
        assert (updated.nps, updated.comment) == (9, "Your service is fast and flawless!")
        assert updated.metadata["tags"] == ["checkout"]
        assert updated.customer is not None and updated.customer.id == "5975"

    @pytest.mark.parametrize(
        ("survey_type", "field", "audience"),
        [
            ("nps", "nps", "customer"),
            ("enps", "nps", "employee"),
            ("csat", "csat", "customer"),
            ("smileys", "csat", "customer"),
            ("ces", "ces", "customer"),
            ("five_star", "stars", "customer"),
        ],
    )
    def test_survey_type_decides_the_score(
        self, survey_type: str, field: str, audience: str
    ) -> None:
        [item] = _parse(vendors.delighted(survey_type=survey_type, score=4))
        assert getattr(item, field) == 4 and item.audience == audience

    def test_thumbs_keeps_only_the_comment(self) -> None:
        [item] = _parse(vendors.delighted(survey_type="thumbs", score=1))
        assert (item.nps, item.csat, item.comment) == (
            None,
            None,
            "Your service is fast and flawless!",
        )

    def test_unsubscribe_is_ignored(self) -> None:
        payload = {"event_type": "unsubscribe.created", "event_data": {"person": {"id": "1"}}}
        [item] = _parse(payload)
        assert isinstance(item, Ignored)

    def test_out_of_range_score_is_a_validation_error_of_our_field(self) -> None:
        # The kit turns this into a 422 whose loc starts with "mapped".
        with pytest.raises(ValidationError) as exc:
            _parse(vendors.delighted(survey_type="csat", score=9))
        assert exc.value.errors()[0]["loc"] == ("csat",)

    def test_missing_created_at_is_named(self) -> None:
        payload = vendors.delighted()
        del payload["event_data"]["created_at"]
        with pytest.raises(InvalidPayload) as exc:
            _parse(payload)
        assert first_loc(exc.value) == ["body", "event_data", "created_at"]
