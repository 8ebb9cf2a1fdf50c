"""The alert rules are valid, and each alert has promtool cases where it must and must not fire.

promtool comes from Debian's `prometheus` package; without it these tests fail (never skip), so
a machine that cannot check the rules says so.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
TEST_FILES = sorted((PROMETHEUS / "tests").glob("*.yml"))


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail(
            "promtool not found: install Debian's prometheus package "
            "(apt-get install -y --no-install-recommends prometheus)"
        )
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=120, check=False)


def alerts() -> dict[str, dict[str, Any]]:
    found = {}
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    found[rule["alert"]] = rule
    return found


def alert_cases() -> list[tuple[str, bool]]:
    """(alertname, fires) for every alert_rule_test of every promtool test file."""
    cases = []
    for path in TEST_FILES:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                cases.append((case["alertname"], bool(case.get("exp_alerts"))))
    return cases


class TestPrometheusRules:
    def test_rule_files_pass_promtool_check(self) -> None:
        assert RULE_FILES, "no rule files in deploy/prometheus/rules"
        result = promtool("check", "rules", *map(str, RULE_FILES))
        assert result.returncode == 0, result.stdout + result.stderr

    def test_alerts_behave_as_their_promtool_unit_tests_say(self) -> None:
        assert TEST_FILES, "no promtool tests in deploy/prometheus/tests"
        result = promtool("test", "rules", *map(str, TEST_FILES))
        assert result.returncode == 0, result.stdout + result.stderr

    def test_scrape_config_is_valid_and_loads_the_rules(self) -> None:
        config = PROMETHEUS / "prometheus.yml"
        result = promtool("check", "config", str(config))
        assert result.returncode == 0, result.stdout + result.stderr
        patterns = yaml.safe_load(config.read_text())["rule_files"]
        loaded = {p.resolve() for pattern in patterns for p in config.parent.glob(pattern)}
        assert loaded == {p.resolve() for p in RULE_FILES}

    def test_every_alert_has_cases_that_fire_and_cases_that_do_not(self) -> None:
        cases = alert_cases()
        for name in alerts():
            assert (name, True) in cases, f"{name}: no promtool case where it fires"
            assert (name, False) in cases, f"{name}: no promtool case where it must not fire"
        assert {name for name, _ in cases} <= set(alerts()), "a test names an unknown alert"

    def test_every_alert_carries_severity_and_on_call_text(self) -> None:
        for name, rule in alerts().items():
            assert rule["labels"]["severity"] in {"warning", "critical"}, name
            assert rule["annotations"]["summary"], name
            assert rule["annotations"]["description"], name
