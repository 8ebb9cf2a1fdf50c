from __future__ import annotations

from pathlib import Path

import pytest

from shared.events import JourneyStage, SourceKind, Topic
from shared.journey import (
    JOURNEY_FILE_ENV,
    ItemFields,
    Journey,
    JourneyError,
    load_journey,
    normalise,
    parse_journey,
)

MINIMAL = """
version: 1
stages: [awareness, consideration, conversion, retention, loyalty]
touchpoints:
  - {name: website, stage: consideration, team: digital}
  - {name: delivery, stage: retention, team: logistics}
rules:
  - {name: shipping_tags, match: {tags: shipping}, touchpoint: delivery}
topic_touchpoints: {delivery: delivery}
default_touchpoint: website
"""


def _with(old: str, new: str) -> str:
    assert old in MINIMAL
    return MINIMAL.replace(old, new)


class TestPackagedCatalog:
    def test_declares_every_journey_stage_in_order(self) -> None:
        journey = load_journey()
        assert journey.version == 1
        assert journey.stages == list(JourneyStage)

    def test_has_the_touchpoints_the_design_names(self) -> None:
        names = {t.name for t in load_journey().touchpoints}
        assert {
            "website",
            "mobile_app",
            "store",
            "checkout",
            "billing",
            "delivery",
            "product",
            "customer_support",
            "social_media",
            "returns",
        } <= names

    def test_every_touchpoint_has_a_stage_and_an_owning_team(self) -> None:
        for tp in load_journey().touchpoints:
            assert isinstance(tp.stage, JourneyStage)
            assert tp.team

    def test_maps_every_topic_but_other_to_a_touchpoint(self) -> None:
        mapped = set(load_journey().topic_touchpoints)
        assert mapped == set(Topic) - {Topic.other}

    def test_has_a_default_for_every_source_kind(self) -> None:
        journey = load_journey()
        assert set(journey.default_touchpoint.by_source_kind) == set(SourceKind)
        assert journey.default_for("ticket") == "customer_support"


class TestLoadJourney:
    def test_env_variable_points_at_another_catalog(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "journey.yaml"
        path.write_text(MINIMAL)
        monkeypatch.setenv(JOURNEY_FILE_ENV, str(path))
        assert [t.name for t in load_journey().touchpoints] == ["website", "delivery"]

    def test_explicit_path_wins_over_env_variable(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "journey.yaml"
        path.write_text(MINIMAL)
        monkeypatch.setenv(JOURNEY_FILE_ENV, str(tmp_path / "missing.yaml"))
        assert load_journey(path).get("delivery") is not None

    def test_missing_file_is_a_journey_error_naming_it(self, tmp_path: Path) -> None:
        with pytest.raises(JourneyError, match=r"missing\.yaml"):
            load_journey(tmp_path / "missing.yaml")


class TestParseJourney:
    def test_minimal_catalog_resolves_stages_and_teams(self) -> None:
        journey = parse_journey(MINIMAL)
        assert journey.stage_of("delivery") is JourneyStage.retention
        assert journey.team_of("website") == "digital"
        assert "website" in journey
        assert "checkout" not in journey

    def test_bare_default_is_the_overall_default(self) -> None:
        journey = parse_journey(MINIMAL)
        assert journey.default_for(SourceKind.social) == "website"

    def test_single_match_value_is_a_one_item_list(self) -> None:
        rule = parse_journey(MINIMAL).rules[0]
        assert rule.match.tags == ["shipping"]

    def test_stage_of_unknown_touchpoint_raises_key_error(self) -> None:
        with pytest.raises(KeyError, match="nowhere"):
            parse_journey(MINIMAL).stage_of("nowhere")

    def test_unknown_stage_is_rejected(self) -> None:
        bad = _with("stage: retention", "stage: afterlife")
        with pytest.raises(JourneyError, match=r"touchpoints\.1\.stage"):
            parse_journey(bad)

    def test_touchpoint_on_an_undeclared_stage_is_rejected(self) -> None:
        bad = _with(
            "stages: [awareness, consideration, conversion, retention, loyalty]",
            "stages: [awareness, consideration]",
        )
        with pytest.raises(JourneyError, match="'delivery' has stage 'retention'"):
            parse_journey(bad)

    def test_rule_pointing_at_unknown_touchpoint_is_rejected(self) -> None:
        bad = _with("touchpoint: delivery}", "touchpoint: drone}")
        with pytest.raises(
            JourneyError, match="rule 'shipping_tags' points at unknown touchpoint 'drone'"
        ):
            parse_journey(bad)

    def test_topic_and_default_pointing_at_unknown_touchpoints_are_all_reported(self) -> None:
        bad = _with("{delivery: delivery}", "{delivery: post}").replace(
            "default_touchpoint: website", "default_touchpoint: homepage"
        )
        with pytest.raises(JourneyError) as err:
            parse_journey(bad)
        assert "topic_touchpoints[delivery] points at unknown touchpoint 'post'" in str(err.value)
        assert "default_touchpoint.overall points at unknown touchpoint 'homepage'" in str(
            err.value
        )

    def test_unknown_topic_label_is_rejected(self) -> None:
        bad = _with("{delivery: delivery}", "{weather: delivery}")
        with pytest.raises(JourneyError, match=r"topic_touchpoints\.weather"):
            parse_journey(bad)

    def test_duplicate_touchpoint_is_rejected(self) -> None:
        bad = _with(
            "  - {name: delivery, stage: retention, team: logistics}\n",
            "  - {name: delivery, stage: retention, team: logistics}\n"
            "  - {name: delivery, stage: loyalty, team: crm}\n",
        )
        with pytest.raises(JourneyError, match="duplicate touchpoint 'delivery'"):
            parse_journey(bad)

    def test_duplicate_rule_name_is_rejected(self) -> None:
        rule = "  - {name: shipping_tags, match: {tags: shipping}, touchpoint: delivery}\n"
        bad = _with(rule, rule + rule)
        with pytest.raises(JourneyError, match="duplicate rule 'shipping_tags'"):
            parse_journey(bad)

    def test_rule_without_conditions_is_rejected(self) -> None:
        bad = _with("match: {tags: shipping}", "match: {}")
        with pytest.raises(JourneyError, match="at least one field"):
            parse_journey(bad)

    def test_unknown_match_field_is_rejected(self) -> None:
        bad = _with("match: {tags: shipping}", "match: {tag: shipping}")
        with pytest.raises(JourneyError, match=r"rules\.0\.match\.tag"):
            parse_journey(bad)

    def test_unsupported_version_is_rejected(self) -> None:
        with pytest.raises(JourneyError, match="version 2"):
            parse_journey(_with("version: 1", "version: 2"))

    def test_malformed_yaml_is_rejected(self) -> None:
        with pytest.raises(JourneyError, match="not valid YAML"):
            parse_journey("version: 1\ntouchpoints: [unclosed", origin="x.yaml")

    def test_non_mapping_document_is_rejected(self) -> None:
        with pytest.raises(JourneyError, match="mapping"):
            parse_journey("- just\n- a list\n")


RESOLVING = """
version: 1
touchpoints:
  - {name: website, stage: consideration, team: digital}
  - {name: mobile_app, stage: consideration, team: mobile}
  - {name: delivery, stage: retention, team: logistics}
  - {name: support, stage: retention, team: care}
rules:
  - {name: in_app, match: {channel: [in_app, ios]}, touchpoint: mobile_app}
  - {name: shipping_tags, match: {tags: shipping}, touchpoint: delivery}
topic_touchpoints: {delivery: delivery}
default_touchpoint: {overall: website, by_source_kind: {ticket: support}}
"""


@pytest.fixture(scope="module")
def resolving() -> Journey:
    return parse_journey(RESOLVING)


class TestJourneyResolve:
    """The shared semantics on plain item fields, as a stored fact provides them."""

    def test_catalogued_hint_is_normalised_and_wins(self, resolving: Journey) -> None:
        item = ItemFields("survey", "typeform", channel="ios", touchpoint_hint=" Delivery ")
        got = resolving.resolve(item, ["delivery"])
        assert (got.touchpoint, got.stage, got.rule) == (
            "delivery",
            JourneyStage.retention,
            "explicit",
        )

    def test_tags_kept_in_metadata_match_a_tag_rule(self, resolving: Journey) -> None:
        item = ItemFields("ticket", "zendesk", metadata={"tags": ["urgent", "Shipping"]})
        assert resolving.resolve(item).rule == "rule:shipping_tags"

    def test_own_tags_match_as_well(self, resolving: Journey) -> None:
        item = ItemFields("ticket", "zendesk", tags=("shipping",), metadata={"tags": "x"})
        assert resolving.resolve(item).rule == "rule:shipping_tags"

    def test_stored_empty_channel_matches_no_channel_rule(self, resolving: Journey) -> None:
        got = resolving.resolve(ItemFields("survey", "typeform", channel=""), [])
        assert (got.touchpoint, got.rule) == ("website", "default")

    def test_topic_labels_are_plain_strings(self, resolving: Journey) -> None:
        got = resolving.resolve(ItemFields("review", "trustpilot"), ["other", "delivery"])
        assert (got.touchpoint, got.rule) == ("delivery", "topic:delivery")

    def test_source_kind_default_without_any_signal(self, resolving: Journey) -> None:
        got = resolving.resolve(ItemFields("ticket", "zendesk", touchpoint_hint="drone_pad"))
        assert (got.touchpoint, got.stage, got.rule) == (
            "support",
            JourneyStage.retention,
            "default",
        )

    def test_normalise_maps_free_text_to_catalog_form(self) -> None:
        assert normalise(" Mobile-App ") == "mobile_app"
