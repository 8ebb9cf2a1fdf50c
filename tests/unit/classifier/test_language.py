from __future__ import annotations

import pytest

from services.classifier.nlp.language import LanguageDetector, normalise_hint
from services.classifier.nlp.settings import SCORED_LANGUAGES


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector(preferred=SCORED_LANGUAGES)


class TestLanguageDetector:
    @pytest.mark.parametrize(
        ("text", "code"),
        [
            ("The delivery was late and the box was damaged.", "en"),
            ("Служба поддержки не отвечает уже неделю.", "ru"),
            ("Kundtjänsten var jättebra och svarade direkt.", "sv"),
            ("برای بازگشت کالا باید خیلی صبر کردم", "fa"),
            ("Das Paket kam viel zu spät an.", "de"),
            ("El paquete llegó roto y nadie me ayudó.", "es"),
            ("كان التوصيل سريعا جدا", "ar"),
            ("Jeg er meget tilfreds med købet", "da"),
            ("Dostawa była bardzo opóźniona", "pl"),
        ],
    )
    def test_clear_sentences_get_their_language(
        self, detector: LanguageDetector, text: str, code: str
    ) -> None:
        found = detector.detect(text)
        assert found is not None
        assert found.code == code
        assert found.confidence is not None and found.confidence > 0.4

    @pytest.mark.parametrize("text", [None, "", "   \n"])
    def test_empty_text_has_no_language_even_with_a_hint(
        self, detector: LanguageDetector, text: str | None
    ) -> None:
        assert detector.detect(text, hint="sv") is None

    def test_text_without_letters_takes_the_hint(self, detector: LanguageDetector) -> None:
        assert detector.detect("10/10 👍", hint="fa-IR") == detector.detect("👍", hint="fa")
        found = detector.detect("10/10 👍", hint="fa-IR")
        assert found is not None and found.code == "fa" and found.confidence is None
        assert detector.detect("10/10 👍") is None

    def test_too_short_to_tell_takes_the_hint(self, detector: LanguageDetector) -> None:
        assert detector.detect("ok") is None
        found = detector.detect("ok", hint="de")
        assert found is not None and found.code == "de"

    def test_confident_text_overrides_a_wrong_hint(self, detector: LanguageDetector) -> None:
        found = detector.detect("The delivery was late and the box was damaged.", hint="sv")
        assert found is not None and found.code == "en"

    def test_short_swedish_is_not_read_as_norwegian(self, detector: LanguageDetector) -> None:
        found = detector.detect("Leveransen var sen")
        assert found is not None and found.code == "sv"

    def test_norwegian_letters_keep_norwegian(self, detector: LanguageDetector) -> None:
        found = detector.detect("Pakken kom frem i tide, og jeg er fornøyd", hint="sv")
        assert found is not None and found.code in {"nb", "da"}

    def test_hint_decides_between_confusable_languages(self, detector: LanguageDetector) -> None:
        found = detector.detect("Pakken kom frem i tide, takk!", hint="sv")
        assert found is not None and found.code == "sv"

    def test_persian_letters_are_not_read_as_arabic(self, detector: LanguageDetector) -> None:
        found = detector.detect("ممنون، خیلی خوب")
        assert found is not None and found.code == "fa"

    def test_languages_outside_the_set_are_never_returned(self) -> None:
        small = LanguageDetector(["en", "sv"], preload=False)
        found = small.detect("Das Paket kam viel zu spät an, und der Karton war kaputt.")
        assert found is None or found.code in {"en", "sv"}


MIXED_BATCH = [
    ("The delivery was late and the box was damaged.", None),
    ("Pakken kom frem i tide, takk!", "sv"),
    ("Pakken kom frem i tide, og jeg er fornøyd", "sv"),
    ("Leveransen var sen", None),
    ("ممنون، خیلی خوب", None),
    ("كان التوصيل سريعا جدا", "fa-IR"),
    ("10/10 👍", "fa-IR"),
    ("10/10 👍", None),
    ("", "de"),
    (None, None),
    ("ok", "de"),
    ("ok", None),
    ("Das Paket kam viel zu spät an.", "en"),
    ("Служба поддержки не отвечает уже неделю.", None),
    ("Dostawa była bardzo opóźniona", None),
    ("Hello", None),
]


class TestDetectMany:
    def test_a_batch_gets_what_one_call_per_text_gets(self, detector: LanguageDetector) -> None:
        texts = [t for t, _ in MIXED_BATCH]
        hints = [h for _, h in MIXED_BATCH]
        one_by_one = [detector.detect(t, h) for t, h in MIXED_BATCH]
        batched = detector.detect_many(texts, hints)
        assert [(d.code if d else None) for d in batched] == [
            (d.code if d else None) for d in one_by_one
        ]
        for got, want in zip(batched, one_by_one, strict=True):
            if got is not None and want is not None and want.confidence is not None:
                assert got.confidence == pytest.approx(want.confidence, abs=1e-9)
        # The batch holds every kind of answer, so the comparison covers each branch.
        assert None in one_by_one
        assert any(d is not None and d.confidence is None for d in one_by_one)

    def test_hints_are_optional(self, detector: LanguageDetector) -> None:
        found = detector.detect_many(["Das Paket kam viel zu spät an.", "10/10"])
        assert found[0] is not None and found[0].code == "de"
        assert found[1] is None

    def test_one_hint_per_text_is_required(self, detector: LanguageDetector) -> None:
        with pytest.raises(ValueError, match="2 texts but 1 hints"):
            detector.detect_many(["a", "b"], ["en"])

    def test_no_texts_give_no_answers(self, detector: LanguageDetector) -> None:
        assert detector.detect_many([]) == []


class TestNormaliseHint:
    @pytest.mark.parametrize(
        ("hint", "code"),
        [("sv-SE", "sv"), ("SV_se", "sv"), ("fa", "fa"), ("no", "nb"), ("", None), (None, None)],
    )
    def test_locales_become_iso_639_1(self, hint: str | None, code: str | None) -> None:
        assert normalise_hint(hint) == code

    def test_garbage_is_ignored(self) -> None:
        assert normalise_hint("english") is None
        assert normalise_hint("12") is None
