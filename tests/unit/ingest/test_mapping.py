"""Request item → canonical Feedback, one class per source kind."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.reviews.models import ReviewIn
from services.reviews.service import to_feedback as review_to_feedback
from services.social.models import PostIn
from services.social.service import to_feedback as post_to_feedback
from services.surveys.models import SurveyResponse
from services.surveys.service import to_feedback as survey_to_feedback
from services.tickets.models import TicketIn
from services.tickets.service import to_feedback as ticket_to_feedback
from shared.events import SourceKind
from shared.ids import feedback_id_for, revision_rank

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class TestSurveyMapping:
    def test_scores_comment_and_common_fields_are_carried_over(self) -> None:
        item = SurveyResponse.model_validate(
            {
                "source": "delighted",
                "source_id": "r-1",
                "occurred_at": "2025-02-28T09:30:00+01:00",
                "customer": {"id": "c-9", "segment": "smb", "locale": "sv-SE"},
                "touchpoint": "checkout",
                "channel": "email",
                "survey_type": "relationship",
                "audience": "employee",
                "nps": 9,
                "csat": 4,
                "ces": 6,
                "stars": 5,
                "comment": "Quick delivery",
                "language": "sv",
                "metadata": {"form": "q1"},
            }
        )
        fb = survey_to_feedback(item, NOW)
        assert fb.source_kind is SourceKind.survey
        assert fb.feedback_id == feedback_id_for("delighted", "r-1")
        assert fb.survey is not None
        assert (fb.survey.nps, fb.survey.csat, fb.survey.ces, fb.survey.stars) == (9, 4, 6, 5)
        assert (fb.survey.survey_type, fb.survey.audience) == ("relationship", "employee")
        assert fb.text == "Quick delivery"
        assert fb.customer.segment == "smb"
        assert (fb.touchpoint, fb.channel, fb.language_hint) == ("checkout", "email", "sv")
        assert fb.metadata == {"form": "q1"}
        assert fb.received_at == NOW
        assert fb.occurred_at == datetime(2025, 2, 28, 8, 30, tzinfo=UTC)

    def test_score_only_response_has_no_text_and_default_survey_type(self) -> None:
        item = SurveyResponse(source="s", source_id="1", occurred_at=NOW, nps=3, comment="  ")
        fb = survey_to_feedback(item, NOW)
        assert fb.text is None
        assert fb.survey is not None
        assert (fb.survey.survey_type, fb.survey.audience) == ("transactional", "customer")

    def test_response_with_neither_score_nor_comment_is_invalid(self) -> None:
        with pytest.raises(ValueError, match="at least one of nps"):
            SurveyResponse(source="s", source_id="1", occurred_at=NOW)


class TestTicketMapping:
    def test_text_joins_subject_and_body_and_tags_reach_metadata(self) -> None:
        item = TicketIn(
            source="zendesk",
            source_id="T-7",
            occurred_at=NOW,
            subject="Card charged twice",
            body="Please refund one of them.",
            status="solved",
            priority="high",
            tags=["billing", "refund"],
            csat=2,
            first_response_seconds=120,
            resolution_seconds=3600.5,
            metadata={"brand": "acme"},
        )
        fb = ticket_to_feedback(item, NOW)
        assert fb.source_kind is SourceKind.ticket
        assert fb.text == "Card charged twice\n\nPlease refund one of them."
        assert fb.metadata == {"brand": "acme", "tags": ["billing", "refund"]}
        assert fb.ticket is not None
        assert fb.ticket.tags == ["billing", "refund"]
        assert (fb.ticket.status, fb.ticket.priority, fb.ticket.csat) == ("solved", "high", 2)
        assert (fb.ticket.first_response_seconds, fb.ticket.resolution_seconds) == (120, 3600.5)

    def test_text_is_whichever_of_subject_or_body_is_present(self) -> None:
        only_body = TicketIn(source="z", source_id="1", occurred_at=NOW, body="Where is it?")
        only_subject = TicketIn(source="z", source_id="2", occurred_at=NOW, subject="Late")
        assert ticket_to_feedback(only_body, NOW).text == "Where is it?"
        assert ticket_to_feedback(only_subject, NOW).text == "Late"

    def test_ticket_without_tags_leaves_metadata_untouched(self) -> None:
        item = TicketIn(source="z", source_id="1", occurred_at=NOW, metadata={"k": 1})
        assert ticket_to_feedback(item, NOW).metadata == {"k": 1}


class TestReviewMapping:
    def test_stars_platform_product_and_title_body_text(self) -> None:
        item = ReviewIn(
            source="trustpilot",
            source_id="rv-1",
            occurred_at=NOW,
            platform="trustpilot",
            stars=2,
            title="Broke in a week",
            body="The handle snapped.",
            product_id="sku-1",
        )
        fb = review_to_feedback(item, NOW)
        assert fb.source_kind is SourceKind.review
        assert fb.review is not None
        assert (fb.review.stars, fb.review.platform, fb.review.product_id) == (
            2,
            "trustpilot",
            "sku-1",
        )
        assert fb.review.title == "Broke in a week"
        assert fb.text == "Broke in a week\n\nThe handle snapped."

    def test_rating_without_words_has_no_text(self) -> None:
        item = ReviewIn(source="t", source_id="1", occurred_at=NOW, stars=5)
        assert review_to_feedback(item, NOW).text is None


class TestSocialMapping:
    def test_post_fields_and_default_channel(self) -> None:
        item = PostIn.model_validate(
            {
                "source": "brandwatch",
                "source_id": "p-1",
                "occurred_at": "2025-02-28T10:00:00Z",
                "platform": "x",
                "author": "@jane",
                "text": "Love the new app",
                "url": "https://x.com/jane/status/1",
                "engagement": {"likes": 10, "shares": 2, "replies": 1},
                "reach": 5000,
            }
        )
        fb = post_to_feedback(item, NOW)
        assert fb.source_kind is SourceKind.social
        assert fb.channel == "social"
        assert fb.text == "Love the new app"
        assert fb.social is not None
        assert (fb.social.platform, fb.social.author, fb.social.reach) == ("x", "@jane", 5000)
        assert fb.social.engagement.likes == 10
        assert fb.social.url == "https://x.com/jane/status/1"

    def test_explicit_channel_wins_over_default(self) -> None:
        item = PostIn(source="b", source_id="1", occurred_at=NOW, text="hi", channel="forum")
        assert post_to_feedback(item, NOW).channel == "forum"


class TestRevision:
    def test_explicit_revision_is_used_as_is(self) -> None:
        item = ReviewIn(source="t", source_id="1", occurred_at=NOW, stars=4, revision=3)
        fb = review_to_feedback(item, NOW)
        assert (fb.revision, fb.revision_rank) == ("3", 3)

    def test_updated_at_is_the_revision_when_none_is_given(self) -> None:
        item = ReviewIn(
            source="t",
            source_id="1",
            occurred_at=NOW,
            stars=4,
            updated_at=datetime.fromisoformat("2025-03-01T10:00:00Z"),
        )
        fb = review_to_feedback(item, NOW)
        assert fb.revision == "2025-03-01T10:00:00+00:00"
        assert fb.revision_rank == revision_rank("2025-03-01T10:00:00Z")

    def test_revision_defaults_to_zero(self) -> None:
        fb = review_to_feedback(ReviewIn(source="t", source_id="1", occurred_at=NOW, stars=4), NOW)
        assert (fb.revision, fb.revision_rank) == ("0", 0)

    def test_naive_timestamps_are_read_as_utc(self) -> None:
        item = ReviewIn.model_validate(
            {"source": "t", "source_id": "1", "occurred_at": "2025-03-01T10:00:00", "stars": 4}
        )
        assert item.occurred_at == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)

    def test_revision_beyond_64_bits_is_invalid(self) -> None:
        with pytest.raises(ValueError, match="out of range"):
            ReviewIn(source="t", source_id="1", occurred_at=NOW, stars=4, revision="9" * 25)
