"""Review-platform payloads shaped like the vendors' documentation, and their credentials.

Trustpilot: the `service-review-created` example of Trustpilot's webhook guide (ids and text are
the guide's); updates carry the same review shape, deletions only the id. Yelp: the Reviews
Webhooks payload (`time`, `object`, `data.updates[]`) and the Fusion business-reviews response.
"""

from __future__ import annotations

from typing import Any

from tests.unit.ingest.webhooks.vendors import basic, bearer, dumps

__all__ = ["SECRETS", "basic", "bearer", "dumps"]

SECRETS = {"trustpilot": "tp-token-5c2e", "yelp": "yelp-token-0b7d"}
TP_REVIEW = "53bffd360000640002975387"
YELP_BUSINESS = "3l54GTr8-E3XPpxxnF_sAA"


def trustpilot_review(
    review_id: str = TP_REVIEW,
    *,
    event: str = "service-review-created",
    stars: int = 5,
    title: str = "Great service",
    text: str = "Nothing other than excellent customer service.",
    created: str = "2017-05-20T09:34:44.000Z",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "eventName": event,
        "version": "1",
        "eventData": {
            "id": review_id,
            "language": "en",
            "title": title,
            "text": text,
            "referenceId": "ABC-123-xyz",
            "stars": stars,
            "createdAt": created,
            "isVerified": True,
            "locationId": "43f51215-a1fc-4c60-b6dd-e4afb6d7b831",
            "link": f"https://api.trustpilot.com/v1/reviews/{review_id}",
            "consumer": {
                "id": "53bffc3900006400017e5db8",
                "name": "Customer",
                "link": "https://api.trustpilot.com/v1/consumers/53bffc3900006400017e5db8",
            },
            "tags": [{"group": "Generic", "value": "delivery"}],
            **extra,
        },
    }


def trustpilot_deleted(review_id: str = TP_REVIEW) -> dict[str, Any]:
    return {"eventName": "service-review-deleted", "version": "1", "eventData": {"id": review_id}}


def trustpilot(*events: dict[str, Any]) -> dict[str, Any]:
    return {"events": list(events) or [trustpilot_review()]}


def yelp_update(
    review_id: str = "9CNz4nWU59PIZsiDV9sSVQ",
    *,
    event_type: str = "NEW_REVIEW_EVENT",
    rating: float = 5.0,
    language: str = "en",
) -> dict[str, Any]:
    if event_type != "NEW_REVIEW_EVENT":  # edits and removals name only the review and user
        return {"event_type": event_type, "review_id": review_id, "user_id": "vey7Vnlh-M0bLtpd"}
    return {
        "event_type": event_type,
        "review_id": review_id,
        "rating": rating,
        "language": language,
        "user_id": "vey7Vnlh-M0bLtpd1nB9Aw",
    }


def yelp(
    *updates: dict[str, Any],
    business: str = YELP_BUSINESS,
    time: str = "2020-10-10T19:30:27.731910",
) -> dict[str, Any]:
    return {
        "time": time,
        "object": "business",
        "data": {"id": business, "updates": list(updates) or [yelp_update()]},
    }


def yelp_review(
    review_id: str = "9CNz4nWU59PIZsiDV9sSVQ",
    *,
    rating: float = 5,
    text: str = "Great selection of local produce and the self-checkout is fast...",
    time_created: str = "2020-10-10 12:30:20",
) -> dict[str, Any]:
    return {
        "id": review_id,
        "url": f"https://www.yelp.com/biz/north-beach-grocers-san-francisco?hrid={review_id}",
        "text": text,
        "rating": rating,
        "time_created": time_created,
        "user": {
            "id": "vey7Vnlh-M0bLtpd1nB9Aw",
            "profile_url": "https://www.yelp.com/user_details?userid=vey7Vnlh-M0bLtpd1nB9Aw",
            "image_url": None,
            "name": "Priya K.",
        },
    }


def yelp_reviews(*reviews: dict[str, Any], total: int | None = None) -> dict[str, Any]:
    listed = list(reviews)
    return {
        "reviews": listed,
        "total": len(listed) if total is None else total,
        "possible_languages": ["en", "es"],
    }
