"""Signature, timestamp and token checks: published vectors, computed ones, and every failure."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from shared.ingest.webhooks.signatures import (
    AuthFailure,
    check_timestamp,
    crc_response_token,
    sign,
    verify_signature,
    verify_timestamped_signature,
    verify_token,
)
from tests.unit.ingest.webhooks.vendors import QUALTRICS_PUBLISHED_HMAC, QUALTRICS_PUBLISHED_MSG

# RFC 2202 / RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
RFC_KEY, RFC_DATA = "Jefe", b"what do ya want for nothing?"
RFC_VECTORS = {
    "sha1": "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
    "sha256": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    "sha512": "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
    "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
}
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _reason(exc: pytest.ExceptionInfo[AuthFailure]) -> str:
    return exc.value.reason


class TestVerifySignature:
    @pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha512"])
    def test_rfc_vectors_verify_in_hex_and_base64(self, algorithm: str) -> None:
        hex_digest = RFC_VECTORS[algorithm]
        b64 = base64.b64encode(bytes.fromhex(hex_digest)).decode()
        verify_signature(hex_digest, secret=RFC_KEY, message=RFC_DATA, algorithm=algorithm)  # type: ignore[arg-type]
        verify_signature(
            b64,
            secret=RFC_KEY,
            message=RFC_DATA,
            algorithm=algorithm,  # type: ignore[arg-type]
            encoding="base64",
        )
        assert sign(RFC_KEY, RFC_DATA, algorithm=algorithm) == hex_digest  # type: ignore[arg-type]

    def test_qualtrics_published_sample_verifies(self) -> None:
        verify_signature(
            QUALTRICS_PUBLISHED_HMAC,
            secret="kyma4ever",
            message=QUALTRICS_PUBLISHED_MSG.encode(),
            algorithm="sha512",
        )

    def test_qualtrics_published_sample_fails_with_another_key(self) -> None:
        with pytest.raises(AuthFailure) as exc:
            verify_signature(
                QUALTRICS_PUBLISHED_HMAC,
                secret="kyma4everx",
                message=QUALTRICS_PUBLISHED_MSG.encode(),
                algorithm="sha512",
            )
        assert _reason(exc) == "bad_signature"

    def test_zendesk_documented_example_verifies(self) -> None:
        # An older Zendesk docs example signs BODY ‖ TIMESTAMP: the HMAC primitive verifies it
        # over that message. The Zendesk adapter itself accepts only TIMESTAMP ‖ BODY, as the
        # current docs say (see services/tickets/adapters/zendesk.py and its tests).
        body, stamp = b'{"say": "hello"}', b"2021-07-25T10:00:00Z"
        verify_signature(
            "tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw=",
            secret="HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA=",
            message=body + stamp,
            encoding="base64",
        )

    def test_prefix_is_required_and_case_insensitive(self) -> None:
        signature = sign("s", b"body", prefix="sha256=")
        shouted = "SHA256=" + signature.removeprefix("sha256=").upper()
        verify_signature(shouted, secret="s", message=b"body", prefix="sha256=")
        with pytest.raises(AuthFailure) as exc:
            verify_signature(
                signature.removeprefix("sha256="), secret="s", message=b"body", prefix="sha256="
            )
        assert _reason(exc) == "bad_signature"

    def test_one_changed_byte_of_body_fails(self) -> None:
        signature = sign("s", b'{"nps": 9}', encoding="base64")
        with pytest.raises(AuthFailure) as exc:
            verify_signature(signature, secret="s", message=b'{"nps":10}', encoding="base64")
        assert _reason(exc) == "bad_signature"

    @pytest.mark.parametrize("provided", [None, "", "   "])
    def test_missing_signature_is_named(self, provided: str | None) -> None:
        with pytest.raises(AuthFailure) as exc:
            verify_signature(provided, secret="s", message=b"x")
        assert _reason(exc) == "missing_signature"

    @pytest.mark.parametrize("provided", ["zz-not-hex", "abc", "sha256=%%%"])
    def test_malformed_signature_is_bad_not_an_error(self, provided: str) -> None:
        with pytest.raises(AuthFailure) as exc:
            verify_signature(provided, secret="s", message=b"x")
        assert _reason(exc) == "bad_signature"

    def test_failure_detail_never_contains_the_expected_value(self) -> None:
        expected = sign("s", b"x")
        with pytest.raises(AuthFailure) as exc:
            verify_signature("00" * 32, secret="s", message=b"x")
        assert expected not in str(exc.value.detail) and exc.value.detail == "bad_signature"


class TestTimestampedSignature:
    def _signed(self, stamp: str, body: bytes = b'{"type":"ticket"}') -> str:
        return sign("zd-secret", stamp.encode() + body, encoding="base64")

    def test_fresh_timestamp_and_body_verify(self) -> None:
        stamp = "2026-11-23T09:58:00Z"
        verify_timestamped_signature(
            self._signed(stamp),
            stamp,
            secret="zd-secret",
            body=b'{"type":"ticket"}',
            now=NOW,
            tolerance_s=300,
        )

    def test_stale_timestamp_fails_even_when_signed(self) -> None:
        stamp = "2026-11-23T09:50:00Z"
        with pytest.raises(AuthFailure) as exc:
            verify_timestamped_signature(
                self._signed(stamp),
                stamp,
                secret="zd-secret",
                body=b'{"type":"ticket"}',
                now=NOW,
                tolerance_s=300,
            )
        assert _reason(exc) == "stale_timestamp"

    def test_timestamp_swapped_for_a_fresh_one_breaks_the_signature(self) -> None:
        old = "2026-11-23T09:50:00Z"
        with pytest.raises(AuthFailure) as exc:
            verify_timestamped_signature(
                self._signed(old),
                "2026-11-23T09:59:59Z",
                secret="zd-secret",
                body=b'{"type":"ticket"}',
                now=NOW,
                tolerance_s=300,
            )
        assert _reason(exc) == "bad_signature"

    def test_missing_timestamp_is_a_missing_signature(self) -> None:
        with pytest.raises(AuthFailure) as exc:
            check_timestamp(None, now=NOW, tolerance_s=300)
        assert _reason(exc) == "missing_signature"

    def test_future_timestamp_beyond_the_window_is_stale(self) -> None:
        future = (NOW + timedelta(minutes=6)).isoformat()
        with pytest.raises(AuthFailure) as exc:
            check_timestamp(future, now=NOW, tolerance_s=300)
        assert _reason(exc) == "stale_timestamp"

    def test_unix_seconds_timestamp_is_accepted(self) -> None:
        moment = check_timestamp(str(int(NOW.timestamp()) - 10), now=NOW, tolerance_s=300)
        assert moment == NOW - timedelta(seconds=10)


class TestTokens:
    def test_bearer_token_is_accepted(self) -> None:
        verify_token({"authorization": "Bearer t0ken"}, "t0ken")

    def test_basic_password_is_the_token_and_user_is_ignored(self) -> None:
        creds = base64.b64encode(b"anyone:t0ken").decode()
        verify_token({"authorization": f"Basic {creds}"}, "t0ken")

    @pytest.mark.parametrize(
        ("header", "reason"),
        [
            ("", "missing_token"),
            ("Token t0ken", "missing_token"),
            ("Bearer", "missing_token"),
            ("Bearer t0ken2", "bad_token"),
            ("Basic " + base64.b64encode(b"t0ken:").decode(), "bad_token"),
            ("Basic not-base64!", "bad_token"),
        ],
    )
    def test_wrong_or_missing_token_is_named(self, header: str, reason: str) -> None:
        with pytest.raises(AuthFailure) as exc:
            verify_token({"authorization": header} if header else {}, "t0ken")
        assert _reason(exc) == reason


class TestCrc:
    def test_response_token_is_prefixed_base64_hmac_of_the_crc_token(self) -> None:
        token = crc_response_token("consumer-secret", "crc-123")
        assert token == sign("consumer-secret", b"crc-123", encoding="base64", prefix="sha256=")
        verify_signature(
            token, secret="consumer-secret", message=b"crc-123", encoding="base64", prefix="sha256="
        )
