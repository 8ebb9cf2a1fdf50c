"""PII redaction: emails, phone numbers, payment cards and IBANs become placeholders.

Regexes only find candidates; checksums (Luhn, mod-97) and shape rules decide, because feedback
is full of numbers that must survive: order ids, dates, prices, tracking codes. Kinds run in a
fixed order (email, IBAN, card, phone) so that a longer identifier is never half-eaten by a
shorter pattern.
"""

from __future__ import annotations

import re
from collections.abc import Callable

EMAIL, PHONE, CARD, IBAN = "[EMAIL]", "[PHONE]", "[CARD]", "[IBAN]"
PLACEHOLDER = re.compile(r"\[(?:EMAIL|PHONE|CARD|IBAN)\]")

# Glue that makes a digit run part of something else: an id (ORD-, #), a price, a decimal.
_NOT_AFTER = r"(?<![\w#$€£¥₽+.,/-])"
_NOT_BEFORE = r"(?![\w%$€£¥₽]|[.,/-]\d)"

_EMAIL = re.compile(
    r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])", re.UNICODE
)
# Printed IBANs come in groups of four; electronic ones unbroken. Country code upper or lower.
_IBAN = re.compile(
    rf"{_NOT_AFTER}[A-Za-z]{{2}}\d{{2}}(?:(?: [A-Za-z0-9]{{4}}){{2,7}}(?: [A-Za-z0-9]{{1,4}})?"
    rf"|[A-Za-z0-9]{{11,30}}){_NOT_BEFORE}"
)
_CARD = re.compile(rf"{_NOT_AFTER}\d(?:[ -]?\d){{12,18}}{_NOT_BEFORE}")
_PHONE = re.compile(
    _NOT_AFTER
    # Nor the tail of a longer digit sequence (an invalid IBAN, a reference number).
    + r"(?<!\d[ .-])"
    + r"(?:"
    # +46 70 123 45 67, +1 (415) 555-0100, +46 (0)70-123 45 67, +4670123456
    + r"\+\d{1,3}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{1,5}){1,6}"
    # (415) 555-0100, 8 (495) 123-45-67, (08) 123 45 67
    + r"|(?:[08][ -]?)?\(\d{2,5}\)[ .-]?\d{2,4}(?:[ .-]?\d{2,4}){1,3}"
    # 070-123 45 67, 08-123 456 78, 030 12345678, 06.12.34.56.78
    + r"|0[1-9]\d{0,4}(?:[ ./-]?\d{2,8}){1,4}"
    # 415-555-0100, 415.555.0100, 8 800 555-35-35
    + r"|\d{3}([.-])\d{3}\1\d{4}|8[ -]\d{3}[ -]\d{3}[ -]\d{2}[ -]?\d{2}"
    + r")"
    + _NOT_BEFORE
)
# Dates and opening hours share the trunk-0 phone shape ("01.05.2024", "08.00-17.00").
_DATE_OR_HOURS = re.compile(
    r"\d{1,2}[./-]\d{1,2}[./-](?:19|20)\d{2}|(?:19|20)\d{2}[./-]\d{1,2}[./-]\d{1,2}"
    r"|\d{1,2}[.:]\d{2}\s?-\s?\d{1,2}[.:]\d{2}"
)
_MONEY_AFTER = re.compile(
    r"\s?(?:kr|sek|nok|dkk|eur|usd|gbp|rub|руб|тыс|€|\$|£|₽|₺|ریال|تومان)", re.IGNORECASE
)


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _card_valid(candidate: str) -> bool:
    digits = re.sub(r"[ -]", "", candidate)
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _phone_valid(candidate: str, following: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    international = candidate.startswith("+")
    if not (8 if international else 7) <= len(digits) <= 15:
        return False
    return not (_DATE_OR_HOURS.search(candidate) or _MONEY_AFTER.match(following))


def _substitute(
    pattern: re.Pattern[str], text: str, valid: Callable[[str], bool], placeholder: str
) -> str:
    """Replace each match, or its longest valid prefix ending at a separator, when valid.

    Greedy patterns can swallow a neighbouring group ("4111 1111 1111 1111 12 months"); trying
    shorter prefixes on separator boundaries recovers the identifier without extra regexes.
    """

    def repl(match: re.Match[str]) -> str:
        found = match.group(0)
        separators = [m.start() for m in re.finditer(r"[ -](?=\S)", found)]
        cuts = [len(found), *reversed(separators)]
        for cut in cuts:
            if valid(found[:cut]):
                return placeholder + found[cut:]
        return found

    return pattern.sub(repl, text)


def redact(text: str) -> str:
    """Text with PII replaced by [EMAIL], [IBAN], [CARD] and [PHONE]."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL, text)
    text = _substitute(_IBAN, text, iban_valid, IBAN)
    text = _substitute(_CARD, text, _card_valid, CARD)

    def phone(match: re.Match[str]) -> str:
        found = match.group(0)
        return PHONE if _phone_valid(found, text[match.end() :]) else found

    return _PHONE.sub(phone, text)
