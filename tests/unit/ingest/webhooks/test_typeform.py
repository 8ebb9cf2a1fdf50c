"""Typeform adapter: signature over the raw body, per-form mapping, ignored partials."""

from __future__ import annotations

from typing import Any, cast

import pytest

from services.surveys.adapters.typeform import TypeformAdapter
from services.surveys.models import SurveyResponse
from shared.ingest.errors import InvalidPayload
from shared.ingest.webhooks import AuthFailure, Ignored
from tests.unit.ingest.webhooks import vendors
from tests.unit.ingest.webhooks.support import delivery

SECRET = vendors.SECRETS["typeform"]


def _parse(payload: dict[str, Any]) -> list[Any]:
    body = vendors.dumps(payload)
    return list(TypeformAdapter(vendors.TYPEFORM_FORMS).parse(delivery("typeform", body, {})))


def _locs(exc: pytest.ExceptionInfo[InvalidPayload]) -> list[list[Any]]:
    return [e["loc"] for e in cast(list[dict[str, Any]], exc.value.detail)]


class TestTypeformAdapter:
    def test_signed_body_verifies(self) -> None:
        body = vendors.dumps(vendors.typeform())
        adapter = TypeformAdapter(vendors.TYPEFORM_FORMS)
        adapter.verify(delivery("typeform", body, vendors.typeform_headers(body)), SECRET)

    def test_body_re_serialised_after_signing_fails(self) -> None:
        body = vendors.dumps(vendors.typeform())
        spaced = body.replace(b'":', b'": ')
        adapter = TypeformAdapter(vendors.TYPEFORM_FORMS)
        with pytest.raises(AuthFailure) as exc:
            adapter.verify(delivery("typeform", spaced, vendors.typeform_headers(body)), SECRET)
        assert exc.value.reason == "bad_signature"

    def test_missing_header_is_missing_signature(self) -> None:
        adapter = TypeformAdapter(vendors.TYPEFORM_FORMS)
        with pytest.raises(AuthFailure) as exc:
            adapter.verify(delivery("typeform", b"{}", {}), SECRET)
        assert exc.value.reason == "missing_signature"

    def test_response_maps_scores_by_ref_id_and_label(self) -> None:
        [item] = _parse(vendors.typeform(nps=3, csat="Unsatisfied", comment="Slow."))
        assert isinstance(item, SurveyResponse)
        assert (item.nps, item.csat, item.ces, item.comment) == (3, 2, 6, "Slow.")
        assert (item.source, item.source_id) == ("typeform", "a3a12ec67a1365927098a606107fac15")
        assert item.revision == "2018-01-18T18:17:02+00:00"
        assert item.customer is not None
        assert (item.customer.id, item.customer.segment) == ("abc123456", "pro")
        assert (item.touchpoint, item.metadata["form_id"]) == ("checkout", "lT4Z3j")

    def test_same_response_redelivered_has_the_same_identity(self) -> None:
        [first] = _parse(vendors.typeform())
        [again] = _parse(vendors.typeform())
        assert (first.source_id, first.revision) == (again.source_id, again.revision)

    def test_unknown_extra_fields_are_tolerated(self) -> None:
        payload = vendors.typeform()
        payload["form_response"]["brand_new_field"] = {"x": 1}
        payload["answers_everywhere"] = True
        [item] = _parse(payload)
        assert item.nps == 9

    def test_missing_token_is_named(self) -> None:
        payload = vendors.typeform()
        del payload["form_response"]["token"]
        with pytest.raises(InvalidPayload) as exc:
            _parse(payload)
        assert _locs(exc) == [["body", "form_response", "token"]]

    def test_unconfigured_form_is_rejected_naming_form_id(self) -> None:
        with pytest.raises(InvalidPayload) as exc:
            _parse(vendors.typeform(form_id="zzzzzz"))
        assert _locs(exc) == [["body", "form_response", "form_id"]]

    def test_choice_without_a_score_in_the_mapping_is_rejected(self) -> None:
        with pytest.raises(InvalidPayload) as exc:
            _parse(vendors.typeform(csat="Meh"))
        assert _locs(exc) == [["mapped", "csat"]]

    def test_partial_response_is_ignored(self) -> None:
        [item] = _parse(vendors.typeform(event_type="form_response_partial"))
        assert isinstance(item, Ignored)

    def test_response_with_no_mapped_answer_is_ignored(self) -> None:
        payload = vendors.typeform()
        payload["form_response"]["answers"] = payload["form_response"]["answers"][-1:]  # email
        [item] = _parse(payload)
        assert isinstance(item, Ignored)
