"""Issue 3, done when: a signed delivery from each vendor shows up in the scores.

The whole stack as a user runs it (`python -m shared.stack`) with every vendor turned on as the
README says (secrets, survey mappings, vendor API URLs and tokens), a local vendor API for the
fetch-step vendors (SurveyMonkey, Qualtrics, Yelp), and one genuine delivery per vendor posted
to the service of its kind. Read back over the BI API: each vendor's item with its mapped score,
and the scores by touchpoint and source kind counting each item once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.e2e import vendor_deliveries as vd
from tests.e2e.vendor_api import VendorApi, vendor_api
from tests.helpers import eventually
from tests.stack import RunningStack, running_stack

# Vendor timestamps reach back to 2016 (the docs' examples): read all of time, not 30 days.
WINDOW = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}
FORGED_TYPEFORM = "e2e-typeform-forged"
FORGED_TRUSTPILOT = "5e2e0000000000000000f0f0"


@dataclass
class Sent:
    """The answers the stack gave to what the test posted."""

    answers: dict[str, httpx.Response]
    redelivered: dict[str, httpx.Response]
    forged: dict[str, httpx.Response]
    delighted_updated: httpx.Response


@pytest.fixture(scope="module")
def vendors() -> Iterator[VendorApi]:
    with vendor_api() as api:
        yield api


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, vendors: VendorApi) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("voc-home"), vd.stack_env(vendors)) as running:
        yield running


@pytest.fixture(scope="module")
async def sent(stack: RunningStack, vendors: VendorApi) -> Sent:
    vd.serve_fetches(vendors)
    async with httpx.AsyncClient(timeout=10) as client:

        async def post(d: vd.Delivery) -> httpx.Response:
            url = f"{stack.url(d.service)}/v1/webhooks/{d.vendor}"
            return await client.post(url, content=d.body, headers=d.headers)

        forged = {
            "typeform": await post(vd.typeform(FORGED_TYPEFORM, secret="not-the-form-secret")),
            "trustpilot": await post(vd.trustpilot(FORGED_TRUSTPILOT, token="guessed-token")),
        }
        answers = {d.vendor: await post(d) for d in vd.signed_deliveries()}
        # Vendors retry on timeouts too: the same delivery again, as Typeform and Intercom send it.
        redelivered = {"typeform": await post(vd.typeform()), "intercom": await post(vd.intercom())}
        updated = await post(vd.delighted_updated())
    return Sent(answers, redelivered, forged, updated)


@pytest.fixture(scope="module")
async def feedback(stack: RunningStack, sent: Sent) -> dict[str, list[dict[str, Any]]]:
    """Every item in the API by source, once each vendor's item is in with its final version."""

    async def read() -> dict[str, list[dict[str, Any]]]:
        async with httpx.AsyncClient(timeout=10) as client:
            resp = await client.get(f"{stack.url('api')}/v1/feedback", params={"limit": "500"})
        assert resp.status_code == 200, resp.text
        by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for item in resp.json()["items"]:
            by_source[item["source"]].append(item)
        return by_source

    def settled(by_source: dict[str, list[dict[str, Any]]]) -> bool:
        delighted = by_source.get("delighted") or [{}]
        return set(vd.EXPECTED) <= set(by_source) and delighted[0].get("nps") == 9

    try:
        return await eventually(read, settled, timeout_s=120, interval_s=0.5)
    except AssertionError as exc:
        logs = {s: stack.log(s)[-1500:] for s in ("surveys", "reviews", "classifier")}
        raise AssertionError(f"{exc}\nservice logs: {logs}") from None


async def _scores(stack: RunningStack, group_by: str) -> list[dict[str, Any]]:
    params = {"granularity": "total", "group_by": group_by, **WINDOW}
    async with httpx.AsyncClient(timeout=10) as client:
        resp = await client.get(f"{stack.url('api')}/v1/scores", params=params)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


def _only(feedback: dict[str, list[dict[str, Any]]], vendor: str) -> dict[str, Any]:
    items = feedback[vendor]
    assert len(items) == 1, (vendor, items)
    return items[0]


def _csat(values: list[int]) -> float:
    return 100 * sum(v >= 4 for v in values) / len(values)


def _nps(values: list[int]) -> float:
    return 100 * (sum(v >= 9 for v in values) - sum(v <= 6 for v in values)) / len(values)


class TestVendorWebhooksEndToEnd:
    def test_every_vendor_delivery_is_accepted(self, sent: Sent) -> None:
        for vendor, resp in sent.answers.items():
            assert resp.status_code == 202, (vendor, resp.text)
            body = resp.json()
            if vendor in vd.FETCH_TOKENS:
                assert body["fetch_queued"] == 1, (vendor, body)
            else:
                assert body["accepted"] == 1, (vendor, body)
        assert sent.delighted_updated.status_code == 202, sent.delighted_updated.text

    def test_each_vendor_item_arrives_with_its_mapped_score(
        self, feedback: dict[str, list[dict[str, Any]]]
    ) -> None:
        for vendor, want in vd.EXPECTED.items():
            item = _only(feedback, vendor)
            assert (item["source_kind"], item["source_id"]) == (want.kind, want.source_id)
            for score, value in want.scores.items():
                assert item[score] == value, (vendor, score, item)
            if want.touchpoint:
                assert item["touchpoint"] == want.touchpoint, (vendor, item)
            if want.text_has:
                assert want.text_has in (item["text"] or ""), (vendor, item["text"])
        # Mastodon's HTML is stored as text.
        assert "<" not in _only(feedback, "mastodon")["text"]

    async def test_scores_count_every_vendor_item_once_with_its_score(
        self, stack: RunningStack, feedback: dict[str, list[dict[str, Any]]]
    ) -> None:
        by_kind = {i["group"]["source_kind"]: i for i in await _scores(stack, "source_kind")}
        kinds = Counter(want.kind for want in vd.EXPECTED.values())
        assert {k: i["n"] for k, i in by_kind.items()} == dict(kinds)
        survey, ticket, review = by_kind["survey"], by_kind["ticket"], by_kind["review"]
        # Typeform 9, SurveyMonkey 10, Qualtrics 8, Delighted 9 (its update, not the 6).
        assert survey["nps"]["n"] == 4
        assert survey["nps"]["value"] == pytest.approx(_nps([9, 10, 8, 9]))
        assert (survey["csat"]["n"], survey["csat"]["value"]) == (2, pytest.approx(100.0))
        assert (survey["ces"]["n"], survey["ces"]["value"]) == (1, pytest.approx(6.0))
        # Zendesk's bad-rating tag (1), Intercom's rating 4; Freshdesk has no rating.
        assert (ticket["csat"]["n"], ticket["csat"]["value"]) == (2, pytest.approx(_csat([1, 4])))
        assert (review["stars"]["n"], review["stars"]["value"]) == (2, pytest.approx(3.0))
        assert by_kind["social"]["sentiment"]["n"] == 2

    async def test_scores_by_touchpoint_agree_with_the_items(
        self, stack: RunningStack, feedback: dict[str, list[dict[str, Any]]]
    ) -> None:
        groups = await _scores(stack, "touchpoint,source_kind")
        items = [_only(feedback, vendor) for vendor in vd.EXPECTED]
        for group in groups:
            key = (group["group"]["touchpoint"], group["group"]["source_kind"])
            members = [i for i in items if (i["touchpoint"], i["source_kind"]) == key]
            assert group["n"] == len(members), (key, group, members)
            for metric, mean in (("nps", _nps), ("csat", _csat)):
                values = [i[metric] for i in members if i[metric] is not None]
                assert group[metric]["n"] == len(values), (key, metric)
                if values:
                    assert group[metric]["value"] == pytest.approx(mean(values)), (key, metric)
        assert sum(g["n"] for g in groups) == len(vd.EXPECTED)
        # Each mapped survey names its own touchpoint, so each is a group of its own.
        by_key = {(g["group"]["touchpoint"], g["group"]["source_kind"]): g for g in groups}
        assert by_key[("loyalty_program", "survey")]["nps"]["value"] == pytest.approx(100.0)
        assert by_key[("customer_support", "survey")]["csat"]["value"] == pytest.approx(100.0)

    async def test_a_bad_signature_or_token_is_refused_and_never_counted(
        self, stack: RunningStack, sent: Sent, feedback: dict[str, list[dict[str, Any]]]
    ) -> None:
        for vendor, reason in (("typeform", "bad_signature"), ("trustpilot", "bad_token")):
            assert sent.forged[vendor].status_code == 401, vendor
            assert sent.forged[vendor].json() == {"error": "unauthorized", "detail": reason}
        ids = {i["source_id"] for items in feedback.values() for i in items}
        assert not ids & {FORGED_TYPEFORM, FORGED_TRUSTPILOT}
        async with httpx.AsyncClient(timeout=10) as client:
            metrics = (await client.get(f"{stack.url('surveys')}/metrics")).text
        [failures] = [
            line
            for line in metrics.splitlines()
            if line.startswith("voc_surveys_webhook_auth_failures_total{")
            and 'vendor="typeform"' in line
            and 'reason="bad_signature"' in line
        ]
        assert float(failures.rpartition(" ")[2]) == 1.0

    def test_a_redelivery_gets_the_same_event_id_and_counts_once(
        self, sent: Sent, feedback: dict[str, list[dict[str, Any]]]
    ) -> None:
        for vendor, again in sent.redelivered.items():
            assert again.status_code == 202, (vendor, again.text)
            assert again.json()["event_ids"] == sent.answers[vendor].json()["event_ids"], vendor
            assert len(feedback[vendor]) == 1, vendor

    def test_a_delighted_update_replaces_the_created_answer(
        self, sent: Sent, feedback: dict[str, list[dict[str, Any]]]
    ) -> None:
        created = sent.answers["delighted"].json()["event_ids"]
        updated = sent.delighted_updated.json()["event_ids"]
        assert created != updated  # a new version of the same response, not a re-delivery
        item = _only(feedback, "delighted")
        assert item["nps"] == 9
        assert "fast and flawless" in item["text"]

    def test_fetch_vendors_read_the_vendor_api_with_their_tokens(
        self, vendors: VendorApi, feedback: dict[str, list[dict[str, Any]]]
    ) -> None:
        headers = {v: vendors.requests(p)[0].headers for v, p in vd.FETCH_PATHS.items()}
        assert headers["surveymonkey"]["authorization"] == "Bearer sm-e2e-token"
        assert headers["qualtrics"]["x-api-token"] == "qx-e2e-token"
        assert headers["yelp"]["authorization"] == "Bearer yelp-e2e-key"
