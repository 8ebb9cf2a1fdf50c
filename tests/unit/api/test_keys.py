"""API-key format, hashing and scopes (services.api.keys)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from services.api import keys
from services.api.keys import ADMIN, FEEDBACK_READ, SCORES_READ, ApiKey, InvalidScopes


def stored(new: keys.NewKey, *scopes: str) -> ApiKey:
    return ApiKey(new.id, "t", new.secret_sha256, frozenset(scopes), datetime.now(UTC))


class TestKeyFormat:
    def test_a_new_key_is_voc_id_secret_and_parses_back(self) -> None:
        new = keys.generate()
        prefix, key_id, secret = new.key.split("_", 2)
        assert (prefix, key_id) == ("voc", new.id)
        assert keys.parse(new.key) == (new.id, secret)

    def test_only_the_secrets_sha256_is_kept(self) -> None:
        new = keys.generate()
        secret = new.key.split("_", 2)[2]
        assert new.secret_sha256 == hashlib.sha256(secret.encode()).digest()
        assert secret.encode() not in new.secret_sha256

    def test_two_keys_share_neither_id_nor_secret(self) -> None:
        a, b = keys.generate(), keys.generate()
        assert a.id != b.id and a.secret_sha256 != b.secret_sha256

    def test_the_secret_carries_256_bits(self) -> None:
        secret = keys.generate().key.split("_", 2)[2]
        assert len(secret) == 43  # 32 bytes in unpadded URL-safe base64

    @pytest.mark.parametrize(
        "token",
        [
            "",
            "voc",
            "voc_0123456789abcdef",
            "abc_0123456789abcdef_" + "a" * 43,
            "voc_0123456789ABCDEF_" + "a" * 43,
            "voc_0123456789abcdef_" + "a" * 42,
            "voc_0123456789abcdef_" + "a" * 42 + "=",
            "voc_0123456789abcdef_" + "a" * 43 + "\n",
        ],
    )
    def test_anything_but_a_well_formed_key_does_not_parse(self, token: str) -> None:
        assert keys.parse(token) is None


class TestApiKey:
    def test_matches_only_its_own_secret(self) -> None:
        new = keys.generate()
        key = stored(new, SCORES_READ)
        secret = new.key.split("_", 2)[2]
        assert key.matches(secret)
        assert not key.matches(secret[:-1] + ("A" if secret[-1] != "A" else "B"))

    def test_grants_its_scopes_only(self) -> None:
        key = stored(keys.generate(), SCORES_READ)
        assert key.grants(SCORES_READ) and not key.grants(FEEDBACK_READ)

    def test_admin_grants_every_scope(self) -> None:
        key = stored(keys.generate(), ADMIN)
        assert all(key.grants(s) for s in keys.SCOPES)


class TestParseScopes:
    def test_comma_list_is_deduplicated_in_canonical_order(self) -> None:
        assert keys.parse_scopes(" feedback:read,scores:read,feedback:read ") == [
            SCORES_READ,
            FEEDBACK_READ,
        ]

    def test_unknown_scope_is_named(self) -> None:
        with pytest.raises(InvalidScopes, match="unknown scope scores:write"):
            keys.parse_scopes("scores:read,scores:write")

    def test_no_scope_is_refused(self) -> None:
        with pytest.raises(InvalidScopes, match="at least one"):
            keys.parse_scopes(",")
