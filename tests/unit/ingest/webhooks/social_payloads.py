"""Social-network payloads shaped like the vendors' documentation, and how each signs them.

X: the Account Activity API's `tweet_create_events` / `tweet_delete_events` examples with v1.1
Tweet objects. Mastodon: the admin webhook envelope (`event`, `created_at`, `object`) around a
REST Status entity, content in Mastodon's HTML.
"""

from __future__ import annotations

from typing import Any

from shared.ingest.webhooks import sign
from tests.unit.ingest.webhooks.vendors import dumps

__all__ = ["SECRETS", "dumps"]

SECRETS = {"x": "x-consumer-secret-3f9a", "mastodon": "md-secret-8e41"}
BRAND_ID = "2244994945"
TWEET_ID = "1050118621198921728"
STATUS_URI = "https://mastodon.example/users/alice/statuses/110254321098765432"


def tweet(
    tweet_id: str = TWEET_ID,
    *,
    text: str = "@acme my parcel arrived two days late and the box was crushed #delivery",
    user_id: str = "3001969357",
    screen_name: str = "furiouscamper",
    created_at: str = "Wed Oct 10 20:19:24 +0000 2018",
    timestamp_ms: str | None = "1539202764853",
    **extra: Any,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "created_at": created_at,
        "id": int(tweet_id),
        "id_str": tweet_id,
        "text": text,
        "source": '<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>',
        "truncated": False,
        "in_reply_to_status_id": None,
        "in_reply_to_status_id_str": None,
        "in_reply_to_user_id_str": BRAND_ID,
        "in_reply_to_screen_name": "acme",
        "user": {
            "id": int(user_id),
            "id_str": user_id,
            "name": "Jordan Brinks",
            "screen_name": screen_name,
            "location": "Boulder, CO",
            "protected": False,
            "verified": False,
            "followers_count": 23,
            "friends_count": 48,
            "statuses_count": 510,
        },
        "geo": None,
        "place": None,
        "is_quote_status": False,
        "quote_count": 0,
        "reply_count": 1,
        "retweet_count": 2,
        "favorite_count": 5,
        "entities": {
            "hashtags": [{"text": "delivery", "indices": [62, 71]}],
            "urls": [],
            "user_mentions": [{"screen_name": "acme", "id_str": BRAND_ID, "indices": [0, 5]}],
            "symbols": [],
        },
        "favorited": False,
        "retweeted": False,
        "filter_level": "low",
        "lang": "en",
        **extra,
    }
    if timestamp_ms is not None:
        doc["timestamp_ms"] = timestamp_ms
    return doc


def x_created(*tweets: dict[str, Any], for_user_id: str = BRAND_ID) -> dict[str, Any]:
    return {
        "for_user_id": for_user_id,
        "user_has_blocked": "false",
        "tweet_create_events": list(tweets) or [tweet()],
    }


def x_deleted(
    tweet_id: str = TWEET_ID,
    *,
    user_id: str = "3001969357",
    timestamp_ms: str = "1539206364853",
    for_user_id: str = BRAND_ID,
) -> dict[str, Any]:
    return {
        "for_user_id": for_user_id,
        "tweet_delete_events": [
            {"status": {"id": tweet_id, "user_id": user_id}, "timestamp_ms": timestamp_ms}
        ],
    }


def x_headers(body: bytes, secret: str = SECRETS["x"]) -> dict[str, str]:
    signature = sign(secret, body, algorithm="sha256", encoding="base64", prefix="sha256=")
    return {"content-type": "application/json", "x-twitter-webhooks-signature": signature}


def mastodon_status(
    uri: str = STATUS_URI,
    *,
    content: str = (
        '<p>Ordered from <span class="h-card"><a href="https://shop.example/@acme" '
        'class="u-url mention">@<span>acme</span></a></span> &amp; the checkout kept '
        "failing.<br>Third try worked.</p><p>Support was quick though "
        '<a href="https://mastodon.example/tags/support" class="mention hashtag" '
        'rel="tag">#<span>support</span></a></p>'
    ),
    created_at: str = "2023-10-26T13:30:00.000Z",
    edited_at: str | None = None,
    visibility: str = "public",
    **extra: Any,
) -> dict[str, Any]:
    status_id = uri.rsplit("/", 1)[-1]
    return {
        "id": status_id,
        "created_at": created_at,
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": visibility,
        "language": "en",
        "uri": uri,
        "url": f"https://mastodon.example/@alice/{status_id}",
        "replies_count": 1,
        "reblogs_count": 3,
        "favourites_count": 7,
        "edited_at": edited_at,
        "content": content,
        "reblog": None,
        "application": {"name": "Web", "website": None},
        "account": {
            "id": "109348812345678901",
            "username": "alice",
            "acct": "alice",
            "display_name": "Alice",
            "locked": False,
            "bot": False,
            "created_at": "2022-11-15T00:00:00.000Z",
            "url": "https://mastodon.example/@alice",
            "followers_count": 120,
            "following_count": 80,
            "statuses_count": 455,
        },
        "media_attachments": [],
        "mentions": [
            {"id": "1", "username": "acme", "url": "https://shop.example/@acme", "acct": "acme"}
        ],
        "tags": [{"name": "support", "url": "https://mastodon.example/tags/support"}],
        "emojis": [],
        "card": None,
        "poll": None,
        **extra,
    }


def mastodon(
    status: dict[str, Any] | None = None,
    *,
    event: str = "status.created",
    created_at: str = "2023-10-26T13:30:00.351Z",
) -> dict[str, Any]:
    return {"event": event, "created_at": created_at, "object": status or mastodon_status()}


def mastodon_headers(body: bytes, secret: str = SECRETS["mastodon"]) -> dict[str, str]:
    signature = sign(secret, body, algorithm="sha256", encoding="hex", prefix="sha256=")
    return {"content-type": "application/json", "x-hub-signature": signature}
