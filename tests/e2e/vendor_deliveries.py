"""One realistic, signed (or token-authenticated) delivery per vendor for the e2e webhook test,
the stack environment that turns every vendor on, the vendor API answers the fetch-step vendors
need, and what each delivery must become in the API.

Bodies and signatures come from the unit tests' builders (shaped after each vendor's docs);
this module only picks ids, scores and the configuration a user would set.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.e2e.vendor_api import VendorApi
from tests.unit.ingest.webhooks import review_payloads as rp
from tests.unit.ingest.webhooks import social_payloads as sp
from tests.unit.ingest.webhooks import vendors as sv
from tests.unit.ingest.webhooks import vendors_tickets as tv

SECRETS = {**sv.SECRETS, **tv.SECRETS, **rp.SECRETS, **sp.SECRETS}
SERVICE_OF = {
    **dict.fromkeys(("typeform", "surveymonkey", "qualtrics", "delighted"), "surveys"),
    **dict.fromkeys(("zendesk", "intercom", "freshdesk"), "tickets"),
    **dict.fromkeys(("trustpilot", "yelp"), "reviews"),
    **dict.fromkeys(("x", "mastodon"), "social"),
}
FETCH_TOKENS = {"surveymonkey": "sm-e2e-token", "qualtrics": "qx-e2e-token", "yelp": "yelp-e2e-key"}
# Touchpoints the survey mappings name, one per vendor, so each shows as its own score group.
SURVEY_TOUCHPOINTS = {
    "typeform": "checkout",
    "surveymonkey": "loyalty_program",
    "qualtrics": "customer_support",
}

SM_RESPONSE = "118000001"
QX_RESPONSE = "R_e2eQualtrics0001"
YELP_REVIEW = "e2eYelpReview0000001"
DELIGHTED_RESPONSE = "90001"
INTERCOM_NOTIFICATION = "notif_e2e-rating-0001"
MASTODON_STATUS = "https://mastodon.example/users/alice/statuses/113000000000000001"


@dataclass(frozen=True)
class Delivery:
    vendor: str
    body: bytes
    headers: dict[str, str]

    @property
    def service(self) -> str:
        return SERVICE_OF[self.vendor]


@dataclass(frozen=True)
class Expected:
    """What a vendor's item must look like in `/v1/feedback`."""

    kind: str
    source_id: str
    scores: dict[str, int | None] = field(default_factory=dict)
    touchpoint: str | None = None
    text_has: str | None = None


EXPECTED = {
    "typeform": Expected("survey", "e2e-typeform-0001", {"nps": 9, "csat": 5, "ces": 6},
                         "checkout", "Checkout took two minutes"),
    "surveymonkey": Expected("survey", SM_RESPONSE, {"nps": 10}, "loyalty_program",
                             "refund in a day"),
    "qualtrics": Expected("survey", QX_RESPONSE, {"nps": 8, "csat": 4}, "customer_support",
                          "patient and fixed it"),
    # Created as a 6 without a comment, then updated: only the update may count.
    "delighted": Expected("survey", DELIGHTED_RESPONSE, {"nps": 9}, None, "fast and flawless"),
    "zendesk": Expected("ticket", "90210", {"csat": 1}),  # the voc_csat_bad tag
    "intercom": Expected("ticket", "2200000001", {"csat": 4}, None, "never arrived"),
    "freshdesk": Expected("ticket", "4242", {"csat": None}, None, "charged me twice"),
    "trustpilot": Expected("review", "5e2e00000000640002975387", {"stars": 4}),
    "yelp": Expected("review", YELP_REVIEW, {"stars": 2}, None, "queue was endless"),
    "x": Expected("social", "1860000000000000001", {}, None, "parcel arrived two days late"),
    "mastodon": Expected("social", MASTODON_STATUS, {}, None, "checkout kept failing"),
}  # fmt: skip


def _mapping(vendor: str, mappings: dict[str, Any]) -> str:
    return json.dumps(
        {
            form: {
                **m.model_dump(mode="json", exclude_none=True),
                "touchpoint": SURVEY_TOUCHPOINTS[vendor],
            }
            for form, m in mappings.items()
        }
    )


def stack_env(api: VendorApi) -> dict[str, str]:
    """What an operator sets to turn every vendor on, with fetches going to `api`."""
    env = {f"VOC_WEBHOOK_SECRET_{vendor.upper()}": secret for vendor, secret in SECRETS.items()}
    env["SURVEYS_TYPEFORM_FORMS"] = _mapping("typeform", sv.TYPEFORM_FORMS)
    env["SURVEYS_SURVEYMONKEY_SURVEYS"] = _mapping("surveymonkey", sv.SM_SURVEYS)
    env["SURVEYS_QUALTRICS_SURVEYS"] = _mapping("qualtrics", sv.QX_SURVEYS)
    for vendor, token in FETCH_TOKENS.items():
        prefix = f"{SERVICE_OF[vendor].upper()}_WEBHOOKS__FETCH__{vendor.upper()}__"
        env[prefix + "BASE_URL"] = f"{api.base_url}/{vendor}/v3"
        env[prefix + "TOKEN"] = token
    # API keys are another test's subject; this one reads the API as a local setup would.
    env["API_AUTH__ENABLED"] = "false"
    return env


FETCH_PATHS = {
    "surveymonkey": f"/surveymonkey/v3/surveys/{sv.SM_SURVEY}/responses/{SM_RESPONSE}/details",
    "qualtrics": f"/qualtrics/v3/surveys/{sv.QX_SURVEY}/responses/{QX_RESPONSE}",
    "yelp": f"/yelp/v3/businesses/{rp.YELP_BUSINESS}/reviews",
}


def serve_fetches(api: VendorApi) -> None:
    """Serve the details each fetch-step vendor's envelope leads to (at FETCH_PATHS)."""
    api.serve(FETCH_PATHS["surveymonkey"], sv.surveymonkey_details(SM_RESPONSE, nps=10))
    api.serve(FETCH_PATHS["qualtrics"], sv.qualtrics_response(QX_RESPONSE, nps=8, csat=4))
    review = rp.yelp_review(
        YELP_REVIEW, rating=2, text="Good produce, but the queue was endless and nobody helped."
    )
    # Newest first, as Fusion lists them: the notified review need not be the first one.
    api.serve(FETCH_PATHS["yelp"], rp.yelp_reviews(rp.yelp_review(), review))


Headers = dict[str, str]


def _json(vendor: str, doc: Any, headers: Headers | Callable[[bytes], Headers]) -> Delivery:
    """A JSON delivery; `headers` as they are, or made from the body (signatures)."""
    body = sv.dumps(doc)
    return Delivery(vendor, body, headers(body) if callable(headers) else headers)


def delighted_created() -> Delivery:
    doc = sv.delighted(
        DELIGHTED_RESPONSE,
        event_type="survey_response.created",
        score=6,
        comment=None,
        updated_at=1732186844,
    )
    return _json("delighted", doc, sv.bearer())


def delighted_updated() -> Delivery:
    doc = sv.delighted(
        DELIGHTED_RESPONSE,
        event_type="survey_response.updated",
        score=9,
        comment="Your service is fast and flawless!",
        updated_at=1732187444,
    )
    return _json("delighted", doc, sv.bearer())


def typeform(token: str = EXPECTED["typeform"].source_id, secret: str | None = None) -> Delivery:
    body = sv.dumps(sv.typeform(token, nps=9, csat="Very satisfied"))
    return Delivery("typeform", body, sv.typeform_headers(body, secret or SECRETS["typeform"]))


def intercom() -> Delivery:
    doc = tv.intercom(
        EXPECTED["intercom"].source_id,
        topic="conversation.rating.added",
        notification_id=INTERCOM_NOTIFICATION,
        created_at=1540400100,
        updated_at=1540400000,
        rating=4,
        remark="Quick and kind.",
        state="closed",
    )
    return _json("intercom", doc, tv.intercom_headers)


def trustpilot(review_id: str = EXPECTED["trustpilot"].source_id, token: str = "") -> Delivery:
    doc = rp.trustpilot(rp.trustpilot_review(review_id, stars=4, title="Good, not great"))
    return _json("trustpilot", doc, rp.basic(token or SECRETS["trustpilot"], user="trustpilot"))


def signed_deliveries() -> list[Delivery]:
    """One genuine delivery per vendor (Delighted: the created event; its update comes later)."""
    zendesk_tags = ["checkout", "payment", "voc_csat_bad"]
    zendesk = sv.dumps(tv.zendesk(EXPECTED["zendesk"].source_id, tags=zendesk_tags))
    tweet = sp.tweet(EXPECTED["x"].source_id)
    status = sp.mastodon_status(EXPECTED["mastodon"].source_id)
    return [
        typeform(),
        _json("surveymonkey", sv.surveymonkey_event(SM_RESPONSE), sv.surveymonkey_headers),
        Delivery(
            "qualtrics", sv.qualtrics_form(sv.qualtrics_msg(QX_RESPONSE)), sv.QUALTRICS_FORM_HEADERS
        ),
        delighted_created(),
        # Zendesk signs timestamp ‖ body and refuses a timestamp outside its 5-minute window.
        Delivery("zendesk", zendesk, tv.zendesk_headers(zendesk, timestamp=tv.zendesk_now())),
        intercom(),
        _json("freshdesk", tv.freshdesk(EXPECTED["freshdesk"].source_id), tv.freshdesk_basic()),
        trustpilot(),
        _json(
            "yelp",
            rp.yelp(rp.yelp_update(YELP_REVIEW, rating=2.0)),
            rp.basic(SECRETS["yelp"], user="yelp"),
        ),
        _json("x", sp.x_created(tweet), sp.x_headers),
        _json("mastodon", sp.mastodon(status), sp.mastodon_headers),
    ]
