"""X (Twitter): Account Activity API webhooks for the subscribed brand account.

X answers nothing until the URL passes its challenge: `GET ?crc_token=...` must return
`{"response_token": "sha256=" + base64 HMAC-SHA256(consumer secret, crc_token)}`, and X repeats
it from time to time. Every POST is signed with `x-twitter-webhooks-signature: sha256=` +
base64 HMAC-SHA256(consumer secret, body); the consumer (API) secret is
`VOC_WEBHOOK_SECRET_X`. `tweet_create_events` carry v1.1 Tweet objects: mentions, replies and
quotes of the brand are posts; the brand's own tweets and plain retweets say nothing new and are
ignored. A tweet never changes (an edit is a new tweet), so its creation time is its revision;
`tweet_delete_events` remove the tweet from the scores (X requires honouring deletes). Other
activity (likes, follows, DMs) is acknowledged and ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from services.social.models import PostIn
from shared.events import Customer, Engagement
from shared.ingest.body import error_entry
from shared.ingest.errors import InvalidPayload
from shared.ingest.webhooks import (
    Deletion,
    Delivery,
    Ignored,
    Item,
    UtcDatetime,
    WebhookAdapter,
    crc_response_token,
    revision_of,
    to_utc,
    validate,
    verify_signature,
)

Id = Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)]
_TWITTER_TIME = "%a %b %d %H:%M:%S %z %Y"  # "Wed Oct 10 20:19:24 +0000 2018"
_CRC = re.compile(r"^[\x21-\x7e]{1,512}$")


def _tweet_time(value: Any) -> datetime:
    if isinstance(value, str) and not value[:1].isdigit():
        return datetime.strptime(value, _TWITTER_TIME)
    return to_utc(value)


TweetTime = Annotated[datetime, BeforeValidator(_tweet_time)]


class _User(BaseModel):
    id_str: Id
    screen_name: str
    followers_count: int | None = None


class _Extended(BaseModel):
    full_text: str


class _Hashtag(BaseModel):
    text: str


class _Entities(BaseModel):
    hashtags: list[_Hashtag] = Field(default_factory=list)


class _Tweet(BaseModel):
    id_str: Id
    created_at: TweetTime
    timestamp_ms: UtcDatetime | None = None
    text: str | None = None
    full_text: str | None = None
    truncated: bool = False
    extended_tweet: _Extended | None = None
    user: _User
    lang: str | None = None
    in_reply_to_status_id_str: str | None = None
    is_quote_status: bool = False
    retweeted_status: dict[str, Any] | None = None
    retweet_count: int = 0
    quote_count: int = 0
    reply_count: int = 0
    favorite_count: int = 0
    entities: _Entities = Field(default_factory=_Entities)


class _DeletedStatus(BaseModel):
    id: Id
    user_id: Id | None = None


class _Deletion(BaseModel):
    status: _DeletedStatus
    timestamp_ms: UtcDatetime


class _Activity(BaseModel):
    for_user_id: Id | None = None
    tweet_create_events: list[dict[str, Any]] = Field(default_factory=list)
    tweet_delete_events: list[dict[str, Any]] = Field(default_factory=list)


def _text(tweet: _Tweet) -> str:
    if tweet.truncated and tweet.extended_tweet is not None:
        return tweet.extended_tweet.full_text
    return tweet.full_text or tweet.text or ""


class XAdapter(WebhookAdapter):
    vendor = "x"

    def verify(self, delivery: Delivery, secret: str) -> None:
        verify_signature(
            delivery.headers.get("x-twitter-webhooks-signature"),
            secret=secret,
            message=delivery.body,
            algorithm="sha256",
            encoding="base64",
            prefix="sha256=",
        )

    def handshake(self, delivery: Delivery, secret: str) -> dict[str, Any] | None:
        token = delivery.query.get("crc_token", "")
        if not _CRC.match(token):
            raise InvalidPayload(
                [error_entry(["query", "crc_token"], "expected X's CRC token", "missing")]
            )
        return {"response_token": crc_response_token(secret, token)}

    def parse(self, delivery: Delivery) -> Sequence[Item]:
        activity = validate(_Activity, delivery.json())
        brand = activity.for_user_id
        items: list[Item] = [
            self._post(raw, brand, ("body", "tweet_create_events", index))
            for index, raw in enumerate(activity.tweet_create_events)
        ]
        for index, raw in enumerate(activity.tweet_delete_events):
            gone = validate(_Deletion, raw, loc=("body", "tweet_delete_events", index))
            if brand is not None and gone.status.user_id == brand:
                items.append(Ignored("the brand's own tweet"))
                continue
            items.append(
                Deletion(
                    source_id=gone.status.id,
                    revision=revision_of(gone.timestamp_ms),
                    occurred_at=gone.timestamp_ms,
                    raw=raw,
                )
            )
        return items or [Ignored("no tweet activity")]

    def _post(self, raw: dict[str, Any], brand: str | None, loc: tuple[Any, ...]) -> Item:
        tweet = validate(_Tweet, raw, loc=loc)
        if brand is not None and tweet.user.id_str == brand:
            return Ignored("the brand's own tweet")
        if tweet.retweeted_status is not None:
            return Ignored("retweet")
        text = _text(tweet).strip()
        if not text:
            return Ignored("tweet without text")
        created = tweet.timestamp_ms or tweet.created_at
        handle = tweet.user.screen_name
        return PostIn(
            source=self.vendor,
            source_id=tweet.id_str,
            occurred_at=created,
            revision=revision_of(created),
            platform=self.vendor,
            author=f"@{handle}",
            customer=Customer(id=tweet.user.id_str),
            text=text,
            url=f"https://x.com/{handle}/status/{tweet.id_str}",
            language=tweet.lang if tweet.lang and tweet.lang != "und" else None,
            reach=tweet.user.followers_count,
            engagement=Engagement(
                likes=tweet.favorite_count,
                shares=tweet.retweet_count + tweet.quote_count,
                replies=tweet.reply_count,
            ),
            metadata={
                "tags": [h.text for h in tweet.entities.hashtags],
                "in_reply_to": tweet.in_reply_to_status_id_str,
                "quote": tweet.is_quote_status,
                "raw": raw,
            },
        )
