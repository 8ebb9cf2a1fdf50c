"""Webhook settings: secrets from VOC_WEBHOOK_SECRET_*, never shown; nested blocks per vendor."""

from __future__ import annotations

import pytest

from services.surveys.settings import SurveysSettings
from shared.ingest.webhooks.settings import WebhookSettings


class TestWebhookSettings:
    def test_secrets_come_from_voc_webhook_secret_variables(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("VOC_WEBHOOK_SECRET_TYPEFORM", "tf-s3cret")
        monkeypatch.setenv("VOC_WEBHOOK_SECRET_SURVEYMONKEY", "key&secret")
        monkeypatch.setenv("VOC_WEBHOOK_SECRET_DELIGHTED", "  ")
        settings = WebhookSettings()
        assert settings.secret("typeform") == "tf-s3cret"
        assert settings.secret("surveymonkey") == "key&secret"
        assert settings.secret("delighted") is None  # blank is not a secret: disabled

    def test_secrets_never_show_in_repr_or_dump(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("VOC_WEBHOOK_SECRET_TYPEFORM", "tf-s3cret")
        settings = SurveysSettings()
        assert "tf-s3cret" not in repr(settings)
        assert "tf-s3cret" not in settings.model_dump_json()

    def test_service_prefixed_nested_blocks_configure_fetch_and_limits(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv(
            "SURVEYS_WEBHOOKS__FETCH__QUALTRICS__BASE_URL", "https://fra1.qualtrics.com/API/v3"
        )
        monkeypatch.setenv("SURVEYS_WEBHOOKS__FETCH__QUALTRICS__TOKEN", "qx-token")
        monkeypatch.setenv("SURVEYS_WEBHOOKS__RATE_LIMITS__TYPEFORM__PER_S", "5")
        monkeypatch.setenv("SURVEYS_WEBHOOKS__RATE_LIMIT__BURST", "7")
        hooks = SurveysSettings().webhooks
        target = hooks.fetch_for("qualtrics")
        assert target.base_url == "https://fra1.qualtrics.com/API/v3"
        assert target.token is not None and target.token.get_secret_value() == "qx-token"
        assert hooks.limit_for("typeform").per_s == 5
        assert hooks.limit_for("delighted").burst == 7

    def test_form_mappings_are_read_as_json(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(
            "SURVEYS_TYPEFORM_FORMS",
            '{"lT4Z3j": {"nps": {"field": "nps_ref"}, "comment": "why", "touchpoint": "checkout"}}',
        )
        form = SurveysSettings().typeform_forms["lT4Z3j"]
        assert form.nps is not None and form.nps.field == "nps_ref"
        assert (form.comment, form.touchpoint) == ("why", "checkout")
