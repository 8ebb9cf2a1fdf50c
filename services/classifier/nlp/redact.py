"""PII redaction: emails, phone numbers, payment cards and IBANs become placeholders.

Regexes only find candidates; checksums (Luhn, mod-97) and shape rules decide, because feedback
is full of numbers that must survive: order ids, dates, prices, tracking codes. Kinds run in a
fixed order (email, IBAN, card, phone) so that a longer identifier is never half-eaten by a
shorter pattern. Persian and Arabic-Indic digits are matched as their ASCII twins (a digit maps
to one character, so offsets agree), while the text that stays keeps its own digits.
"""

from __future__ import annotations

import re
from collections.abc import Callable

EMAIL, PHONE, CARD, IBAN = "[EMAIL]", "[PHONE]", "[CARD]", "[IBAN]"
PLACEHOLDER = re.compile(r"\[(?:EMAIL|PHONE|CARD|IBAN)\]")

_ASCII_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "0123456789" * 2)

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
    # (415) 555-0100, 8 (495) 123-45-67, (08) 123 45 67, (11) 91234-5678
    + r"|(?:[08][ -]?)?\(\d{2,5}\)[ .-]?\d{2,5}(?:[ .-]?\d{2,4}){1,3}"
    # 070-123 45 67, 08-123 456 78, 030 12345678, 06.12.34.56.78, 0912 345 6789
    + r"|0[1-9]\d{0,4}(?:[ ./-]?\d{2,8}){1,4}"
    # 415-555-0100, 1-800-555-0199, 415 555 0100 / 333 123 4567 (a 4-digit tail is no
    # thousands group), 8 800 555-35-35
    + r"|(?:1[ .-])?\d{3}([ .-])\d{3}\1\d{4}|8[ -]\d{3}[ -]\d{3}[ -]\d{2}[ -]?\d{2}"
    # Mobiles without a trunk prefix, spaced: 612 345 678 (es), 912 345 678 (pt), 91 123 45 67
    # (es), 11 91234-5678 (br)
    + r"|[6-9]\d{2} \d{3} \d{3}|[89]\d \d{3} \d{2} \d{2}|\d{2} 9\d{4}-\d{4}"
    + r")"
    + _NOT_BEFORE
)
# A word that says the next number is a phone number settles unbroken runs ("tel: 612345678"),
# which on their own look just like order numbers.
_PHONE_WORDS = (
    r"phone|tel|mobile|cell|call me|text me|whats ?app|sms|telefon|handy|ring|mobil"
    r"|teléfono|telefono|móvil|movil|llámame|celular|telefone|téléphone|portable|tél"
    r"|телефон|тел|звоните|позвоните|мобильный|numaram"
    r"|تلفن|موبایل|شماره تماس|هاتف|جوال|واتساب|اتصل"
)
_KEYWORD_PHONE = re.compile(
    rf"(?i)(?<!\w)(?:{_PHONE_WORDS})(?!\w)[^\w\n]{{0,4}}(?:\w+[^\w\n]{{1,3}}){{0,3}}?"
    rf"(?P<number>\+?\d(?:[ .-]?\d){{6,14}}){_NOT_BEFORE}"
)
# Dates and opening hours share the trunk-0 phone shape ("01.05.2024", "08.00-17.00"); Persian
# texts write Solar Hijri years (1403) and Arabic ones Hijri years (1446).
_DATE_OR_HOURS = re.compile(
    r"\d{1,2}[./-]\d{1,2}[./-](?:1[34]|19|20)\d{2}|(?:1[34]|19|20)\d{2}[./-]\d{1,2}[./-]\d{1,2}"
    r"|\d{1,2}[.:]\d{2}\s?-\s?\d{1,2}[.:]\d{2}"
)
_MONEY_AFTER = re.compile(
    r"\s?(?:kr|sek|nok|dkk|eur|usd|gbp|rub|руб|тыс|€|\$|£|₽|₺|tl|r\$|ریال|تومان|ريال)",
    re.IGNORECASE,
)
_MONEY_BEFORE = re.compile(r"(?:[$€£¥₽₺]|r\$|eur|usd|tl)\s?$", re.IGNORECASE)
_GROUPS = re.compile(r"\d+")
# The head of a printed IBAN or of a longer number: what follows is its tail, not a card.
_LONGER_NUMBER_BEFORE = re.compile(r"(?:[A-Za-z]{2}\d{2}|\d)[ -]$")
# Brazilian postal codes (CEP) have the trunk-0 phone shape: 01310-100.
_POSTCODE = re.compile(r"\d{5}-\d{3}")

Rule = Callable[[str, str, str], bool]  # (candidate, text before, text after) -> redact?


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


def _iban_rule(candidate: str, before: str, after: str) -> bool:
    return iban_valid(candidate)


def _card_rule(candidate: str, before: str, after: str) -> bool:
    digits = re.sub(r"[ -]", "", candidate)
    if not (13 <= len(digits) <= 19 and luhn_valid(digits)):
        return False
    if _LONGER_NUMBER_BEFORE.search(before):
        return False
    # "9400 1000 0000 0000 0000 00" is one long tracking number, not a card and some change:
    # a further group of the same width continues the number. "… 1111 123" (a CVV) does not.
    last = _GROUPS.findall(candidate)[-1]
    return not re.match(rf"[ -]\d{{{len(last)}}}(?!\d)", after)


def _phone_rule(candidate: str, before: str, after: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    international = candidate.startswith("+")
    if not (8 if international else 7) <= len(digits) <= 15:
        return False
    if _MONEY_BEFORE.search(before) or _MONEY_AFTER.match(after):
        return False
    groups = _GROUPS.findall(candidate)
    if len(groups) > 1 and not "".join(groups[1:]).strip("0"):
        return False  # 900 000 000: a round figure
    return not (_DATE_OR_HOURS.search(candidate) or _POSTCODE.fullmatch(candidate))


def _substitute(
    pattern: re.Pattern[str], text: str, rule: Rule, placeholder: str, group: int | str = 0
) -> str:
    """Replace each match, or its longest valid prefix ending at a separator, when valid.

    Greedy patterns can swallow a neighbouring group ("4111 1111 1111 1111 12 months"); trying
    shorter prefixes on separator boundaries recovers the identifier without extra regexes.
    """
    ascii_text = text.translate(_ASCII_DIGITS)
    out, pos = [], 0
    for match in pattern.finditer(ascii_text):
        start, end = match.span(group)
        found = ascii_text[start:end]
        separators = [m.start() for m in re.finditer(r"[ -](?=\S)", found)]
        for cut in [len(found), *reversed(separators)]:
            if rule(found[:cut], ascii_text[:start], ascii_text[start + cut :]):
                out += [text[pos:start], placeholder]
                pos = start + cut
                break
    return "".join([*out, text[pos:]])


def redact(text: str) -> str:
    """Text with PII replaced by [EMAIL], [IBAN], [CARD] and [PHONE]."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL, text)
    text = _substitute(_IBAN, text, _iban_rule, IBAN)
    text = _substitute(_CARD, text, _card_rule, CARD)
    text = _substitute(_PHONE, text, _phone_rule, PHONE)
    return _substitute(_KEYWORD_PHONE, text, _phone_rule, PHONE, group="number")
