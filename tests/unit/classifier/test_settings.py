from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.classifier.settings import ClassifierSettings


class TestNlpSettings:
    def test_lanes_come_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CLASSIFIER_NLP__LANES", "1")
        assert ClassifierSettings().nlp.lanes == 1

    def test_lanes_default_to_the_device_choice(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("CLASSIFIER_NLP__LANES", raising=False)
        assert ClassifierSettings().nlp.lanes is None

    def test_zero_lanes_are_refused_by_name(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CLASSIFIER_NLP__LANES", "0")
        with pytest.raises(ValidationError, match=r"nlp\.lanes"):
            ClassifierSettings()
