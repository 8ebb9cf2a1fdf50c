"""What the help-desk adapters share: HTML bodies as text, TicketIn's limits, tombstone times."""

from __future__ import annotations

from datetime import UTC, datetime

from services.tickets.adapters.fields import (
    TAG_MAX,
    TAGS_MAX,
    clip,
    clip_tags,
    html_to_text,
    tombstone_revision,
)


class TestHtmlToText:
    def test_blocks_become_paragraphs_and_entities_characters(self) -> None:
        html = "<div><p>Hello&nbsp;there,</p><p>it costs &euro;5 &amp; more<br>per  month</p></div>"
        assert html_to_text(html) == "Hello there,\n\nit costs €5 & more\nper month"

    def test_scripts_and_styles_are_dropped(self) -> None:
        html = "<style>p{color:red}</style><p>Visible</p><script>alert(1)</script>"
        assert html_to_text(html) == "Visible"

    def test_nothing_but_markup_is_none(self) -> None:
        assert html_to_text("<p> </p><br/>") is None


class TestLimits:
    def test_long_text_is_cut_and_blank_text_is_none(self) -> None:
        assert clip("x" * 30, 10) == "x" * 10
        assert clip("  ", 10) is None

    def test_tags_are_trimmed_deduplicated_and_capped(self) -> None:
        tags = [" a ", "a", "", "b" * (TAG_MAX + 5), *(f"t{n}" for n in range(200))]
        kept = clip_tags(tags)
        assert kept[:2] == ["a", "b" * TAG_MAX]
        assert len(kept) == TAGS_MAX


class TestTombstoneRevision:
    def test_is_just_after_the_latest_moment(self) -> None:
        early = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
        late = datetime(2026, 11, 23, 9, 58, tzinfo=UTC)
        assert tombstone_revision(early, None, late) == "2026-11-23T09:58:00.000001+00:00"
