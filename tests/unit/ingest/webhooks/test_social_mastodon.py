"""Mastodon adapter: X-Hub-Signature, Status → post, HTML → text, edits as newer revisions."""

from __future__ import annotations

from typing import Any

import pytest

from services.social.adapters.html import html_to_text
from services.social.adapters.mastodon import MastodonAdapter
from services.social.models import PostIn
from shared.ingest.errors import InvalidPayload
from shared.ingest.webhooks import AuthFailure, Ignored
from tests.unit.ingest.webhooks import social_payloads as sp
from tests.unit.ingest.webhooks.support import delivery, first_loc

SECRET = sp.SECRETS["mastodon"]


def _parse(payload: dict[str, Any], adapter: MastodonAdapter | None = None) -> list[Any]:
    return list((adapter or MastodonAdapter()).parse(delivery("mastodon", sp.dumps(payload), {})))


class TestMastodonAdapter:
    def test_published_x_hub_signature_vector_verifies(self) -> None:
        # GitHub's published example of the same `sha256=` + hex HMAC-SHA256 header.
        digest = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        headers = {"x-hub-signature": f"sha256={digest}"}
        MastodonAdapter().verify(
            delivery("mastodon", b"Hello, World!", headers), "It's a Secret to Everybody"
        )

    def test_signed_status_verifies(self) -> None:
        body = sp.dumps(sp.mastodon())
        MastodonAdapter().verify(delivery("mastodon", body, sp.mastodon_headers(body)), SECRET)

    @pytest.mark.parametrize(
        ("headers", "reason"),
        [({}, "missing_signature"), ({"x-hub-signature": "sha1=abcd"}, "bad_signature")],
    )
    def test_missing_or_wrong_signature_fails(self, headers: dict[str, str], reason: str) -> None:
        with pytest.raises(AuthFailure) as exc:
            MastodonAdapter().verify(delivery("mastodon", b"{}", headers), SECRET)
        assert exc.value.reason == reason

    def test_signature_with_another_secret_fails(self) -> None:
        body = sp.dumps(sp.mastodon())
        headers = sp.mastodon_headers(body, secret="md-secret-guess")
        with pytest.raises(AuthFailure) as exc:
            MastodonAdapter().verify(delivery("mastodon", body, headers), SECRET)
        assert exc.value.reason == "bad_signature"

    def test_created_status_is_a_plain_text_post(self) -> None:
        [post] = _parse(sp.mastodon())

        assert isinstance(post, PostIn)
        assert (post.source, post.source_id, post.platform) == (
            "mastodon",
            sp.STATUS_URI,
            "mastodon",
        )
        assert post.text == (
            "Ordered from @acme & the checkout kept failing.\nThird try worked.\n\n"
            "Support was quick though #support"
        )
        assert post.author == "@alice"
        assert post.revision == "2023-10-26T13:30:00+00:00"
        assert (post.engagement.likes, post.engagement.shares, post.engagement.replies) == (
            7,
            3,
            1,
        )
        assert post.metadata["tags"] == ["support"]
        assert post.customer is not None and post.customer.id == "https://mastodon.example/@alice"

    def test_edit_is_a_newer_revision_of_the_same_post(self) -> None:
        [created] = _parse(sp.mastodon())
        edited = sp.mastodon_status(
            content="<p>Checkout works now, thanks!</p>", edited_at="2023-10-26T14:00:00.000Z"
        )
        [updated] = _parse(sp.mastodon(edited, event="status.updated"))

        assert updated.source_id == created.source_id
        assert updated.revision > created.revision
        assert updated.text == "Checkout works now, thanks!"

    def test_redelivery_yields_the_same_revision(self) -> None:
        [first] = _parse(sp.mastodon())
        [again] = _parse(sp.mastodon())
        assert first.revision == again.revision

    @pytest.mark.parametrize("visibility", ["private", "direct"])
    def test_private_posts_are_ignored_by_default(self, visibility: str) -> None:
        [item] = _parse(sp.mastodon(sp.mastodon_status(visibility=visibility)))
        assert isinstance(item, Ignored)

    def test_configured_visibilities_are_ingested(self) -> None:
        adapter = MastodonAdapter(visibilities=["public", "private"])
        [item] = _parse(sp.mastodon(sp.mastodon_status(visibility="private")), adapter)
        assert isinstance(item, PostIn)

    def test_reblogs_and_account_events_are_ignored(self) -> None:
        reblog = sp.mastodon(sp.mastodon_status(reblog=sp.mastodon_status()))
        account = {"event": "account.created", "created_at": "2023-10-26T13:30:00Z", "object": {}}
        assert [type(i) for i in (*_parse(reblog), *_parse(account))] == [Ignored, Ignored]

    def test_media_only_status_is_ignored(self) -> None:
        [item] = _parse(sp.mastodon(sp.mastodon_status(content="")))
        assert isinstance(item, Ignored)

    def test_missing_uri_is_named(self) -> None:
        status = sp.mastodon_status()
        del status["uri"]
        with pytest.raises(InvalidPayload) as exc:
            _parse(sp.mastodon(status))
        assert first_loc(exc.value) == ["body", "object", "uri"]


class TestHtmlToText:
    def test_split_links_are_joined_back_into_the_url(self) -> None:
        markup = (
            '<p><a href="https://example.com/orders/123456"><span class="invisible">https://'
            '</span><span class="ellipsis">example.com/orders/12</span><span class="invisible">'
            "3456</span></a></p>"
        )
        assert html_to_text(markup) == "https://example.com/orders/123456"

    def test_entities_are_decoded_and_blank_lines_collapsed(self) -> None:
        assert html_to_text("<p>a &lt;b&gt; &quot;c&quot;</p><p></p><p>d</p>") == ('a <b> "c"\n\nd')
