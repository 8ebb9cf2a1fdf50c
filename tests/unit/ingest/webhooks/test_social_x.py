"""X adapter: CRC challenge, signed activity, tweets as posts, deletes as tombstones."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
from starlette.datastructures import Headers

from services.social.adapters.x import XAdapter
from services.social.models import PostIn
from shared.ingest.errors import InvalidPayload
from shared.ingest.webhooks import AuthFailure, Deletion, Delivery, Ignored
from tests.unit.ingest.webhooks import social_payloads as sp
from tests.unit.ingest.webhooks.support import NOW, delivery, first_loc

SECRET = sp.SECRETS["x"]


def _parse(payload: dict[str, Any]) -> list[Any]:
    return list(XAdapter().parse(delivery("x", sp.dumps(payload), {})))


def _crc(query: dict[str, str]) -> dict[str, Any] | None:
    probe = Delivery(
        vendor="x", method="GET", headers=Headers(), query=query, body=b"", received_at=NOW
    )
    return XAdapter().handshake(probe, SECRET)


class TestXAdapter:
    def test_crc_answer_is_base64_hmac_sha256_of_the_token(self) -> None:
        # Computed here straight from X's description, independently of the kit's helpers.
        digest = hmac.new(SECRET.encode(), b"nRkK3V9nR1", hashlib.sha256).digest()
        expected = "sha256=" + base64.b64encode(digest).decode()
        assert _crc({"crc_token": "nRkK3V9nR1"}) == {"response_token": expected}

    def test_crc_without_a_token_is_invalid(self) -> None:
        with pytest.raises(InvalidPayload) as exc:
            _crc({})
        assert first_loc(exc.value) == ["query", "crc_token"]

    def test_signed_activity_verifies(self) -> None:
        body = sp.dumps(sp.x_created())
        XAdapter().verify(delivery("x", body, sp.x_headers(body)), SECRET)

    @pytest.mark.parametrize(
        ("headers", "reason"),
        [
            ({}, "missing_signature"),
            ({"x-twitter-webhooks-signature": "sha256=bm90IGl0"}, "bad_signature"),
        ],
    )
    def test_missing_or_wrong_signature_fails(self, headers: dict[str, str], reason: str) -> None:
        with pytest.raises(AuthFailure) as exc:
            XAdapter().verify(delivery("x", b"{}", headers), SECRET)
        assert exc.value.reason == reason

    def test_signature_over_other_bytes_fails(self) -> None:
        body = sp.dumps(sp.x_created())
        headers = sp.x_headers(body + b" ")
        with pytest.raises(AuthFailure) as exc:
            XAdapter().verify(delivery("x", body, headers), SECRET)
        assert exc.value.reason == "bad_signature"

    def test_mention_is_a_post_with_author_engagement_and_hashtags(self) -> None:
        [post] = _parse(sp.x_created())

        assert isinstance(post, PostIn)
        assert (post.source, post.source_id, post.platform) == ("x", sp.TWEET_ID, "x")
        assert post.author == "@furiouscamper"
        assert post.text.startswith("@acme my parcel arrived two days late")
        assert post.url == f"https://x.com/furiouscamper/status/{sp.TWEET_ID}"
        assert post.revision == "2018-10-10T20:19:24.853000+00:00"  # timestamp_ms
        assert (post.engagement.likes, post.engagement.shares, post.engagement.replies) == (
            5,
            2,
            1,
        )
        assert (post.reach, post.language) == (23, "en")
        assert post.metadata["tags"] == ["delivery"]
        assert post.metadata["raw"]["id_str"] == sp.TWEET_ID

    def test_created_at_alone_is_read_in_twitters_format(self) -> None:
        [post] = _parse(sp.x_created(sp.tweet(timestamp_ms=None)))
        assert post.revision == "2018-10-10T20:19:24+00:00"

    def test_redelivery_yields_the_same_revision(self) -> None:
        [first] = _parse(sp.x_created())
        [again] = _parse(sp.x_created())
        assert (first.source_id, first.revision) == (again.source_id, again.revision)

    def test_extended_tweet_gives_the_full_text(self) -> None:
        long = "Waited 40 minutes on hold with @acme support, then got cut off. " * 4
        truncated = sp.tweet(
            text=long[:137] + "...", truncated=True, extended_tweet={"full_text": long.strip()}
        )
        [post] = _parse(sp.x_created(truncated))
        assert post.text == long.strip()

    def test_brand_tweets_and_retweets_are_ignored(self) -> None:
        own = sp.tweet("1050118621198921729", user_id=sp.BRAND_ID, screen_name="acme")
        retweet = sp.tweet("1050118621198921730", retweeted_status=sp.tweet())
        items = _parse(sp.x_created(own, retweet, sp.tweet()))
        assert [type(i) for i in items] == [Ignored, Ignored, PostIn]

    def test_deleted_tweet_is_a_tombstone_at_the_delete_time(self) -> None:
        [gone] = _parse(sp.x_deleted())
        assert isinstance(gone, Deletion)
        assert (gone.source_id, gone.revision) == (sp.TWEET_ID, "2018-10-10T21:19:24.853000+00:00")

    def test_brands_own_deleted_tweet_is_ignored(self) -> None:
        [item] = _parse(sp.x_deleted(user_id=sp.BRAND_ID))
        assert isinstance(item, Ignored)

    def test_other_activity_is_acknowledged_and_ignored(self) -> None:
        payload = {"for_user_id": sp.BRAND_ID, "favorite_events": [{"id": "a7ba59eab0bfcba3"}]}
        [item] = _parse(payload)
        assert isinstance(item, Ignored)

    def test_unreadable_created_at_is_named(self) -> None:
        bad = sp.tweet(created_at="yesterday", timestamp_ms=None)
        with pytest.raises(InvalidPayload) as exc:
            _parse(sp.x_created(bad))
        assert first_loc(exc.value) == ["body", "tweet_create_events", 0, "created_at"]
