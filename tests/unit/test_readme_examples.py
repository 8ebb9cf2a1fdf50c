"""The worked examples in README.md's "Score definitions and their uncertainty" hold.

The figures are read out of the README's own sentences, then recomputed twice: by the service
code (services/api/scores.py, services/api/compare.py over shared/stats.py) and independently
from the raw answers with scipy. Editing the README without the code, or the code without the
README, fails here. A sentence reworded past its pattern fails too, naming the pattern: update
the pattern with the sentence.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence
from itertools import combinations_with_replacement
from pathlib import Path
from typing import Any

import pytest
from scipy import stats

from services.api.compare import compare_item
from services.api.scores import PART_KEYS, ces_score, csat_score, nps_score

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### Score definitions and their uncertainty"
NUM = r"(−?\d+(?:\.\d+)?)"  # the README writes minus as U+2212
MIN_N = 30


def section_text() -> str:
    """The section, whitespace collapsed, so sentences match across line breaks."""
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, f"README.md lost its section {SECTION!r}"
    body = text.split(SECTION, 1)[1]
    body = re.split(r"^#{1,3} ", body, maxsplit=1, flags=re.MULTILINE)[0]
    return " ".join(body.split())


def example(pattern: str) -> list[str]:
    """The groups of the one README sentence matching `pattern` (NUM groups as written)."""
    found = re.findall(pattern, section_text())
    assert len(found) == 1, f"README.md: expected one sentence matching {pattern!r}"
    groups = found[0]
    return list(groups) if isinstance(groups, tuple) else [groups]


def number(written: str) -> float:
    return float(written.replace("−", "-"))


def shown(written: str, actual: float | None) -> bool:
    """`actual` rounds to the figure as the README writes it (its own number of decimals)."""
    assert actual is not None
    decimals = len(written.partition(".")[2])
    return abs(actual - number(written)) <= 0.5 * 10**-decimals + 1e-9


def assert_shown(pairs: dict[str, tuple[str, float | None]]) -> None:
    wrong = {k: (w, a) for k, (w, a) in pairs.items() if not shown(w, a)}
    assert wrong == {}, f"README figure -> computed value: {wrong}"


def nps_answers(promoters: int, passives: int, detractors: int) -> list[int]:
    return [10] * promoters + [8] * passives + [3] * detractors


def nps_coded(answers: list[int]) -> list[int]:
    return [100 if a >= 9 else -100 if a <= 6 else 0 for a in answers]


def compare_row(prefix: str, nps: Sequence[int] = (), ces: Sequence[int] = ()) -> dict[str, Any]:
    """One window's summed parts, labelled as the repository labels them."""
    parts: dict[str, Any] = {f"{prefix}_{key}": 0 for key in PART_KEYS}
    parts.update({
        f"{prefix}_nps_n": len(nps),
        f"{prefix}_nps_promoters": sum(a >= 9 for a in nps),
        f"{prefix}_nps_detractors": sum(a <= 6 for a in nps),
        f"{prefix}_ces_n": len(ces),
        f"{prefix}_ces_sum": sum(ces),
        f"{prefix}_ces_sumsq": sum(a * a for a in ces),
    })  # fmt: skip
    return parts


NPS_EXAMPLE = (
    rf"Example: (\d+) promoters, (\d+) passives, (\d+) detractors → NPS {NUM}, MOE = 1\.96 × "
    rf"100 × √\(\({NUM} \+ {NUM} − {NUM}\)/(\d+)\) ≈ {NUM}, interval {NUM} to {NUM}\."
)
CSAT_EXAMPLE = (
    rf"Example: (\d+) of (\d+) satisfied → {NUM}%, MOE ±{NUM}, Wilson {NUM}% to {NUM}%\. "
    rf"(\d+) of (\d+) satisfied → {NUM}% with MOE {NUM}, but Wilson {NUM}% to {NUM}%\."
)
CES_EXAMPLE = (
    rf"Example: answers ([\d, ]+) → n (\d+), Σx (\d+), Σx² (\d+), mean {NUM}, s = {NUM}, "
    rf"t = {NUM}, MOE {NUM}, interval {NUM} to {NUM}\."
)
NPS_COMPARE = (
    rf"Example: NPS {NUM} now \((\d+)/(\d+)/(\d+) of (\d+)\) vs {NUM} before "
    rf"\((\d+)/(\d+)/(\d+) of (\d+)\) → difference {NUM}, interval {NUM} to {NUM}, "
    rf"z = {NUM}, p = {NUM}: (not significant|significant) at 95%; with each n four times "
    r"larger the same shift would (be|not be)\."
)
CES_COMPARE = (
    rf"CES {NUM} \(n (\d+)\) vs {NUM} \(n (\d+), Σx (\d+), Σx² (\d+)\) → difference {NUM}, "
    rf"df {NUM}, interval {NUM} to {NUM}, p = {NUM}\."
)


def ces_answers() -> list[int]:
    return [int(a) for a in example(CES_EXAMPLE)[0].split(",")]


class TestNpsExample:
    def test_value_margin_and_interval(self) -> None:
        p, pa, d, value, ps, ds, sq, n, moe, low, high = example(NPS_EXAMPLE)
        answers = nps_answers(int(p), int(pa), int(d))
        assert int(n) == len(answers)
        # The intermediate shares as written: p, d and (p - d)^2.
        share_p, share_d = int(p) / len(answers), int(d) / len(answers)
        assert_shown(
            {"p": (ps, share_p), "d": (ds, share_d), "(p-d)²": (sq, (share_p - share_d) ** 2)}
        )
        coded = nps_coded(answers)
        independent = 1.96 * math.sqrt(statistics.pvariance(coded) / len(coded))
        score = nps_score(len(answers), int(p), int(pa), int(d), min_n=MIN_N)
        for got in (
            (score.value, score.moe, score.ci_low, score.ci_high),
            (statistics.fmean(coded), independent, statistics.fmean(coded) - independent,
             statistics.fmean(coded) + independent),
        ):  # fmt: skip
            assert_shown({
                "NPS": (value, got[0]), "MOE": (moe, got[1]), "low": (low, got[2]),
                "high": (high, got[3]),
            })  # fmt: skip


class TestCsatExample:
    def test_margin_and_wilson_interval(self) -> None:
        hits, n, value, moe, low, high, *_ = example(CSAT_EXAMPLE)
        score = csat_score(int(n), 0.0, int(hits), min_n=MIN_N)
        ci = stats.binomtest(int(hits), int(n)).proportion_ci(0.95, method="wilson")
        p = int(hits) / int(n)
        assert_shown({
            "value": (value, score.value), "MOE": (moe, score.moe), "low": (low, score.ci_low),
            "high": (high, score.ci_high), "scipy low": (low, 100 * ci.low),
            "scipy high": (high, 100 * ci.high), "independent value": (value, 100 * p),
            "independent MOE": (moe, 100 * 1.96 * math.sqrt(p * (1 - p) / int(n))),
        })  # fmt: skip

    def test_all_satisfied_has_no_margin_but_a_wilson_interval(self) -> None:
        *_, hits, n, value, moe, low, high = example(CSAT_EXAMPLE)
        score = csat_score(int(n), 0.0, int(hits), min_n=MIN_N)
        ci = stats.binomtest(int(hits), int(n)).proportion_ci(0.95, method="wilson")
        assert_shown({
            "value": (value, score.value), "MOE": (moe, score.moe), "low": (low, score.ci_low),
            "high": (high, score.ci_high), "scipy low": (low, 100 * ci.low),
            "scipy high": (high, 100 * ci.high),
        })  # fmt: skip

    def test_the_stated_z_is_the_exact_95_percent_quantile(self) -> None:
        [z] = example(rf"z = {NUM}\), which stays sensible")
        assert_shown({"z": (z, float(stats.norm.ppf(0.975)))})


class TestCesExample:
    def test_sums_mean_spread_and_t_interval(self) -> None:
        listed, n, total, sumsq, mean, s, t, moe, low, high = example(CES_EXAMPLE)
        answers = [int(a) for a in listed.split(",")]
        assert (int(n), int(total), int(sumsq)) == (
            len(answers), sum(answers), sum(a * a for a in answers),
        )  # fmt: skip
        score = ces_score(int(n), int(total), int(sumsq), 0, min_n=MIN_N)
        ci = stats.ttest_1samp(answers, 0).confidence_interval(0.95)
        t_crit = float(stats.t.ppf(0.975, len(answers) - 1))
        assert_shown({
            "mean": (mean, score.value), "MOE": (moe, score.moe), "low": (low, score.ci_low),
            "high": (high, score.ci_high), "scipy mean": (mean, statistics.fmean(answers)),
            "s": (s, statistics.stdev(answers)), "t": (t, t_crit),
            "scipy MOE": (moe, (ci.high - ci.low) / 2), "scipy low": (low, ci.low),
            "scipy high": (high, ci.high),
        })  # fmt: skip


class TestCompareExamples:
    def test_nps_difference_interval_z_and_p(self) -> None:
        (now, p1, pa1, d1, n1, before, p2, pa2, d2, n2, diff, low, high, z, p, verdict,
         larger) = example(NPS_COMPARE)  # fmt: skip
        a = nps_answers(int(p1), int(pa1), int(d1))
        b = nps_answers(int(p2), int(pa2), int(d2))
        assert (len(a), len(b)) == (int(n1), int(n2))
        item = compare_item(
            {**compare_row("current", nps=a), **compare_row("previous", nps=b)},
            "nps", 0.95, [], MIN_N,
        )  # fmt: skip
        ca, cb = nps_coded(a), nps_coded(b)
        d = statistics.fmean(ca) - statistics.fmean(cb)
        half = stats.norm.ppf(0.975) * math.sqrt(
            statistics.pvariance(ca) / len(ca) + statistics.pvariance(cb) / len(cb)
        )
        z0 = d / math.sqrt(statistics.pvariance(ca + cb) * (1 / len(ca) + 1 / len(cb)))
        assert_shown({
            "now": (now, item.current.value), "before": (before, item.previous.value),
            "difference": (diff, item.difference), "low": (low, item.ci_low),
            "high": (high, item.ci_high), "z": (z, item.statistic), "p": (p, item.p_value),
            "independent now": (now, statistics.fmean(ca)),
            "independent difference": (diff, d), "independent low": (low, d - half),
            "independent high": (high, d + half), "independent z": (z, z0),
            "scipy p": (p, 2 * stats.norm.sf(abs(z0))),
        })  # fmt: skip
        assert item.significant is (verdict == "significant")

        quadrupled = compare_item(
            {**compare_row("current", nps=a * 4), **compare_row("previous", nps=b * 4)},
            "nps", 0.95, [], MIN_N,
        )  # fmt: skip
        assert quadrupled.difference == pytest.approx(number(diff))
        assert quadrupled.significant is (larger == "be")

    def test_ces_welch_difference_df_interval_and_p(self) -> None:
        now, n1, before, n2, total2, sumsq2, diff, df, low, high, p = example(CES_COMPARE)
        current = ces_answers()
        assert int(n1) == len(current)
        assert_shown(
            {"now": (now, statistics.fmean(current)), "before": (before, int(total2) / int(n2))}
        )
        parts = {
            **compare_row("current", ces=current),
            **compare_row("previous"),
            "previous_ces_n": int(n2),
            "previous_ces_sum": int(total2),
            "previous_ces_sumsq": int(sumsq2),
        }
        item = compare_item(parts, "ces", 0.95, [], MIN_N)
        # Some answers on the 1..7 scale with exactly those sums, for scipy on raw answers.
        previous = next(
            (
                list(c)
                for c in combinations_with_replacement(range(1, 8), int(n2))
                if sum(c) == int(total2) and sum(x * x for x in c) == int(sumsq2)
            ),
            None,
        )
        assert previous is not None, f"no {n2} answers in 1..7 have Σx {total2}, Σx² {sumsq2}"
        welch = stats.ttest_ind(current, previous, equal_var=False)
        ci = welch.confidence_interval(0.95)
        assert_shown({
            "difference": (diff, item.difference), "df": (df, item.df), "low": (low, item.ci_low),
            "high": (high, item.ci_high), "p": (p, item.p_value),
            "scipy difference": (diff, statistics.fmean(current) - statistics.fmean(previous)),
            "scipy df": (df, float(welch.df)), "scipy low": (low, ci.low),
            "scipy high": (high, ci.high), "scipy p": (p, float(welch.pvalue)),
        })  # fmt: skip


DRIVERS_EXAMPLE = (
    r"Example: (\d+) NPS answers at a touchpoint \((\d+) promoters, (\d+) passives, (\d+) "
    rf"detractors: NPS {NUM}\); the (\d+) that mention delivery have (\d+)/(\d+)/(\d+) \(NPS "
    rf"{NUM}\), the other (\d+) have (\d+)/(\d+)/(\d+) \(NPS {NUM}\)\. Difference {NUM}, "
    rf"interval {NUM} to {NUM} \(z = {NUM}, p < 0\.001\); `metric_share` {NUM}, impact {NUM} × "
    rf"{NUM} = {NUM} points \({NUM} to {NUM}\): fixing delivery would lift NPS from {NUM} "
    rf"to {NUM}\."
)


class TestDriversExample:
    def test_with_without_difference_and_impact(self) -> None:
        (n, p, pa, d, overall, n_with, p1, pa1, d1, with_value, n_rest, p2, pa2, d2, rest_value,
         diff, low, high, z, share, share_again, gap, impact, impact_low, impact_high, lift_from,
         lift_to) = example(DRIVERS_EXAMPLE)  # fmt: skip
        topic = nps_answers(int(p1), int(pa1), int(d1))
        rest = nps_answers(int(p2), int(pa2), int(d2))
        everyone = topic + rest
        assert (len(topic), len(rest), len(everyone)) == (int(n_with), int(n_rest), int(n))
        assert everyone.count(10) == int(p) and everyone.count(3) == int(d)
        assert everyone.count(8) == int(pa)
        # with = "current", without = "previous": the same two-sample machinery as compare.
        item = compare_item(
            {**compare_row("current", nps=topic), **compare_row("previous", nps=rest)},
            "nps", 0.95, [], MIN_N,
        )  # fmt: skip
        assert item.ci_low is not None and item.ci_high is not None
        ca, cr, call = nps_coded(topic), nps_coded(rest), nps_coded(everyone)
        m_share = len(topic) / len(everyone)
        independent_diff = statistics.fmean(ca) - statistics.fmean(cr)
        half = stats.norm.ppf(0.975) * math.sqrt(
            statistics.pvariance(ca) / len(ca) + statistics.pvariance(cr) / len(cr)
        )
        assert_shown({
            "overall": (overall, statistics.fmean(call)), "with": (with_value, item.current.value),
            "without": (rest_value, item.previous.value), "difference": (diff, item.difference),
            "low": (low, item.ci_low), "high": (high, item.ci_high), "z": (z, item.statistic),
            "independent difference": (diff, independent_diff),
            "independent low": (low, independent_diff - half),
            "independent high": (high, independent_diff + half),
            "share": (share, m_share), "share again": (share_again, m_share),
            "gap": (gap, -independent_diff), "impact": (impact, -m_share * independent_diff),
            "impact low": (impact_low, -m_share * item.ci_high),
            "impact high": (impact_high, -m_share * item.ci_low),
            "lift from": (lift_from, statistics.fmean(call)),
            "lift to": (lift_to, statistics.fmean(call) - m_share * independent_diff),
        })  # fmt: skip
        assert item.p_value is not None and item.p_value < 0.001
