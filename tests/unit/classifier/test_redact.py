from __future__ import annotations

import pytest

from services.classifier.nlp.redact import iban_valid, luhn_valid, redact


class TestRedact:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("write to anna.berg+voc@example.co.uk today", "write to [EMAIL] today"),
            ("ping Ivan_P@почта.рф", "ping [EMAIL]"),
            ("Call +46 70 123 45 67 now", "Call [PHONE] now"),
            ("ring +1 (415) 555-0100.", "ring [PHONE]."),
            ("+44 20 7946 0958", "[PHONE]"),
            ("+46 (0)70-123 45 67", "[PHONE]"),
            ("sms +4670123456", "sms [PHONE]"),
            ("mobil 070-123 45 67", "mobil [PHONE]"),
            ("(415) 555-0100", "[PHONE]"),
            ("415-555-0100", "[PHONE]"),
            ("звоните 8 (495) 123-45-67", "звоните [PHONE]"),
            ("+7 (495) 123-45-67", "[PHONE]"),
            ("горячая линия 8 800 555-35-35", "горячая линия [PHONE]"),
            ("08-123 456 78", "[PHONE]"),
            ("Tel. 030 12345678", "Tel. [PHONE]"),
            ("appelez le 06.12.34.56.78", "appelez le [PHONE]"),
        ],
    )
    def test_emails_and_phone_numbers_become_placeholders(self, text: str, expected: str) -> None:
        assert redact(text) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("card 4111 1111 1111 1111 exp 12/25", "card [CARD] exp 12/25"),
            ("4111-1111-1111-1111", "[CARD]"),
            ("paid with 5555555555554444.", "paid with [CARD]."),
            ("amex 3782 822463 10005", "amex [CARD]"),
            ("4111 1111 1111 1111 123", "[CARD] 123"),
            ("IBAN SE45 5000 0000 0583 9825 7466", "IBAN [IBAN]"),
            ("DE89 3704 0044 0532 0130 00 please", "[IBAN] please"),
            ("GB82 WEST 1234 5698 7654 32 OK", "[IBAN] OK"),
            ("to NL91ABNA0417164300", "to [IBAN]"),
        ],
    )
    def test_valid_cards_and_ibans_become_placeholders(self, text: str, expected: str) -> None:
        assert redact(text) == expected

    @pytest.mark.parametrize(
        "text",
        [
            "order #123456 is missing",
            "ORD-2024-00017 never shipped",
            "ordered on 2024-05-01",
            "ordered on 01.05.2024, arrived 12/05/2024",
            "it cost $1,299.99",
            "it cost 1 299 kr",
            "a 1 299 000 kr car",
            "5 000 000 руб",
            "49.99 €",
            "call 112",
            "rated 9/10",
            "took 10-15 days",
            "open 08.00-17.00",
            "order 123456789",
            "version 2.3.1",
            "+15% price increase",
            "1234 5678 9012 3456",
            "4111111111111112",
            "ORD-4111111111111111",
            "SE45 5000 0000 0583 9825 7467",
            "tracking 1Z999AA10123456784",
            "2024-05-01 12:30",
        ],
    )
    def test_look_alikes_are_left_alone(self, text: str) -> None:
        assert redact(text) == text

    def test_several_kinds_in_one_text_are_all_redacted(self) -> None:
        text = "Me: a@b.se, +46 70 123 45 67, card 4111 1111 1111 1111, order #123456"
        assert redact(text) == "Me: [EMAIL], [PHONE], card [CARD], order #123456"

    def test_empty_text_stays_empty(self) -> None:
        assert redact("") == ""


class TestChecksums:
    @pytest.mark.parametrize(
        ("digits", "valid"),
        [("4111111111111111", True), ("4111111111111112", False), ("79927398713", True)],
    )
    def test_luhn(self, digits: str, valid: bool) -> None:
        assert luhn_valid(digits) is valid

    @pytest.mark.parametrize(
        ("iban", "valid"),
        [
            ("SE45 5000 0000 0583 9825 7466", True),
            ("se4550000000058398257466", True),
            ("SE45 5000 0000 0583 9825 7467", False),
            ("SE45 5000", False),
        ],
    )
    def test_iban_mod_97(self, iban: str, valid: bool) -> None:
        assert iban_valid(iban) is valid
