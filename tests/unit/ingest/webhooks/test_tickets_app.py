"""The tickets service's vendors and their settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.tickets.adapters.freshdesk import FreshdeskAdapter
from services.tickets.adapters.zendesk import ZendeskAdapter
from services.tickets.app import build_adapters
from services.tickets.settings import TicketsSettings


class TestTicketsWebhookSettings:
    def test_the_three_help_desks_are_registered(self) -> None:
        vendors = {a.vendor for a in build_adapters(TicketsSettings())}
        assert vendors == {"zendesk", "intercom", "freshdesk"}

    def test_csat_tags_and_time_zone_come_from_the_environment(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TICKETS_ZENDESK_CSAT_TAGS", '{"happy": 5, "sad": 2}')
        monkeypatch.setenv("TICKETS_FRESHDESK_TIME_ZONE", "Asia/Kolkata")
        adapters = {a.vendor: a for a in build_adapters(TicketsSettings())}
        zendesk, freshdesk = adapters["zendesk"], adapters["freshdesk"]
        assert isinstance(zendesk, ZendeskAdapter) and zendesk.csat_tags == {"happy": 5, "sad": 2}
        assert isinstance(freshdesk, FreshdeskAdapter)
        assert str(freshdesk.time_zone) == "Asia/Kolkata"

    def test_default_csat_tags_map_good_and_bad_like_the_importer(self) -> None:
        assert TicketsSettings().zendesk_csat_tags == {"voc_csat_good": 5, "voc_csat_bad": 1}

    def test_unknown_time_zone_is_refused(self) -> None:
        with pytest.raises(ValidationError):
            TicketsSettings(freshdesk_time_zone="Mars/Olympus")

    def test_csat_outside_one_to_five_is_refused(self) -> None:
        with pytest.raises(ValidationError):
            TicketsSettings(zendesk_csat_tags={"great": 10})
