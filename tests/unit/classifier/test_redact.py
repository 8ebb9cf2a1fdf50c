from __future__ import annotations

import pytest

from services.classifier.nlp.redact import iban_valid, luhn_valid, redact


class TestRedact:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("write to anna.berg+voc@example.co.uk today", "write to [EMAIL] today"),
            ("ping Ivan_P@почта.рф", "ping [EMAIL]"),
            ("Telefon 030 12345678 oder E-Mail a@b.de", "Telefon [PHONE] oder E-Mail [EMAIL]"),
        ],
    )
    def test_emails_become_placeholders(self, text: str, expected: str) -> None:
        assert redact(text) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            # Sweden
            ("Call +46 70 123 45 67 now", "Call [PHONE] now"),
            ("+46 (0)70-123 45 67", "[PHONE]"),
            ("sms +4670123456", "sms [PHONE]"),
            ("mobil 070-123 45 67", "mobil [PHONE]"),
            ("08-123 456 78", "[PHONE]"),
            # United States
            ("ring +1 (415) 555-0100.", "ring [PHONE]."),
            ("(415) 555-0100", "[PHONE]"),
            ("415-555-0100", "[PHONE]"),
            ("415.555.0100", "[PHONE]"),
            ("call 415 555 0100 after 5", "call [PHONE] after 5"),
            ("toll-free 1-800-555-0199", "toll-free [PHONE]"),
            # United Kingdom
            ("+44 20 7946 0958", "[PHONE]"),
            ("020 7946 0958", "[PHONE]"),
            ("mobile 07700 900123", "mobile [PHONE]"),
            ("+44 (0)20 7946 0958", "[PHONE]"),
            # Germany
            ("Tel. 030 12345678", "Tel. [PHONE]"),
            ("Handy 0151 23456789", "Handy [PHONE]"),
            ("+49 (0)151 2345 6789", "[PHONE]"),
            ("030/1234567", "[PHONE]"),
            # France
            ("appelez le 06.12.34.56.78", "appelez le [PHONE]"),
            ("06 12 34 56 78", "[PHONE]"),
            ("+33 6 12 34 56 78", "[PHONE]"),
            # Spain and Portugal: mobiles have no trunk 0
            ("mi móvil es 612 345 678", "mi móvil es [PHONE]"),
            ("fijo 91 123 45 67", "fijo [PHONE]"),
            ("+34 612 345 678", "[PHONE]"),
            ("ligue 912 345 678", "ligue [PHONE]"),
            ("+351 912 345 678", "[PHONE]"),
            # Italy
            ("+39 06 1234 5678", "[PHONE]"),
            ("cell 333 123 4567", "cell [PHONE]"),
            # Russia
            ("звоните 8 (495) 123-45-67", "звоните [PHONE]"),
            ("+7 (495) 123-45-67", "[PHONE]"),
            ("горячая линия 8 800 555-35-35", "горячая линия [PHONE]"),
            ("8-912-345-67-89", "[PHONE]"),
            ("+7 912 345-67-89!", "[PHONE]!"),
            # Turkey
            ("0532 123 45 67", "[PHONE]"),
            ("+90 532 123 45 67", "[PHONE]"),
            ("0 (532) 123 45 67", "[PHONE]"),
            # Brazil
            ("(11) 91234-5678", "[PHONE]"),
            ("+55 11 91234-5678", "[PHONE]"),
            ("zap 11 91234-5678", "zap [PHONE]"),
            # Iran and Saudi Arabia, also written with Persian and Arabic-Indic digits
            ("0912 345 6789", "[PHONE]"),
            ("+98 912 345 6789", "[PHONE]"),
            ("شماره‌ام ۰۹۱۲ ۳۴۵ ۶۷۸۹ است", "شماره‌ام [PHONE] است"),
            ("۰۹۱۲۳۴۵۶۷۸۹", "[PHONE]"),
            ("+966 50 123 4567", "[PHONE]"),
            ("اتصل على ٠٥٠١٢٣٤٥٦٧", "اتصل على [PHONE]"),
        ],
    )
    def test_phone_numbers_in_international_and_local_formats(
        self, text: str, expected: str
    ) -> None:
        assert redact(text) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("tel: 612345678", "tel: [PHONE]"),
            ("my phone number is 4155550100", "my phone number is [PHONE]"),
            ("телефон 89123456789", "телефон [PHONE]"),
            ("WhatsApp: 0501234567", "WhatsApp: [PHONE]"),
            ("رقم جوالي ٠٥٠١٢٣٤٥٦٧", "رقم جوالي [PHONE]"),
            ("llámame al 612345678", "llámame al [PHONE]"),
        ],
    )
    def test_a_phone_word_settles_an_unbroken_number(self, text: str, expected: str) -> None:
        assert redact(text) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("card 4111 1111 1111 1111 exp 12/25", "card [CARD] exp 12/25"),
            ("4111-1111-1111-1111", "[CARD]"),
            ("paid with 5555555555554444.", "paid with [CARD]."),
            ("amex 3782 822463 10005", "amex [CARD]"),
            ("discover 6011 1111 1111 1117", "discover [CARD]"),
            ("JCB 3530111333300000", "JCB [CARD]"),
            ("4111 1111 1111 1111 123", "[CARD] 123"),
            ("card 4111 1111 1111 1111 12 months", "card [CARD] 12 months"),
        ],
    )
    def test_luhn_valid_cards_become_placeholders(self, text: str, expected: str) -> None:
        assert redact(text) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("IBAN SE45 5000 0000 0583 9825 7466", "IBAN [IBAN]"),
            ("DE89 3704 0044 0532 0130 00 please", "[IBAN] please"),
            ("GB82 WEST 1234 5698 7654 32 OK", "[IBAN] OK"),
            ("to NL91ABNA0417164300", "to [IBAN]"),
            ("ES91 2100 0418 4502 0005 1332", "[IBAN]"),
            ("FR14 2004 1010 0505 0001 3M02 606", "[IBAN]"),
            ("TR33 0006 1005 1978 6457 8413 26", "[IBAN]"),
            ("SA03 8000 0000 6080 1016 7519", "[IBAN]"),
            ("شبا IR062960000000100324200001", "شبا [IBAN]"),
            ("BR1800360305000010009795493C1", "[IBAN]"),
        ],
    )
    def test_mod_97_valid_ibans_become_placeholders(self, text: str, expected: str) -> None:
        assert redact(text) == expected

    @pytest.mark.parametrize(
        "text",
        [
            # order, ticket and reference numbers
            "order #123456 is missing",
            "ORD-2024-00017 never shipped",
            "order 123456789",
            "order 2024051512",
            "INV-2024-000123",
            "ref 20240515-0012",
            "ticket 48213",
            "سفارش ۱۲۳۴۵۶۷۸۹ هنوز نرسیده",
            # dates and times
            "ordered on 2024-05-01",
            "ordered on 01.05.2024, arrived 12/05/2024",
            "2024/05/01",
            "2024-05-01 12:30",
            "open 08.00-17.00",
            "10:30-12:00",
            "تاریخ ۱۴۰۳/۰۲/۱۵",
            "في ١٤٤٥/٠٩/٢٠",
            "phone: 2024-05-01",
            # prices and quantities
            "it cost $1,299.99",
            "it cost 1 299 kr",
            "a 1 299 000 kr car",
            "5 000 000 руб",
            "49.99 €",
            "€ 612 345 678",
            "612 345 678 kr",
            "900 000 000 users",
            "+15% price increase",
            "rated 9/10",
            "took 10-15 days",
            "size 42-44",
            # tracking numbers and other codes
            "tracking 1Z999AA10123456784",
            "tracking 9400 1000 0000 0000 0000 00",
            "RR123456785SE",
            "JJD014600003828541234",
            "ISBN 978-3-16-148410-0",
            "CEP 01310-100",
            "version 2.3.1",
            "call 112",
            # numbers that fail their checksum
            "1234 5678 9012 3456",
            "4111111111111112",
            "ORD-4111111111111111",
            "order 4111 1111 1111 1111 1111",
            "SE45 5000 0000 0583 9825 7467",
            "DE89 3704 0044 0532 0130 01",
        ],
    )
    def test_look_alikes_are_left_alone(self, text: str) -> None:
        assert redact(text) == text

    def test_several_kinds_in_one_text_are_all_redacted(self) -> None:
        text = "Me: a@b.se, +46 70 123 45 67, card 4111 1111 1111 1111, order #123456"
        assert redact(text) == "Me: [EMAIL], [PHONE], card [CARD], order #123456"

    def test_text_around_eastern_digits_keeps_its_own_digits(self) -> None:
        text = "سفارش ۱۲۳۴۵۶ — شماره تماس ۰۹۱۲۳۴۵۶۷۸۹"
        assert redact(text) == "سفارش ۱۲۳۴۵۶ — شماره تماس [PHONE]"

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
