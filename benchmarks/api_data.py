"""The synthetic year of feedback behind `make bench-api`, as one INSERT ... SELECT per batch.

Every row is drawn server-side from `generate_series` and `random()` (seeded per batch, so a
rerun makes the same data): no per-row Python. The distributions are skewed and correlated the
way real feedback is, so rollups and slices get realistic row counts: each source kind has its
own sources, channels, touchpoints and scores (surveys carry NPS/CSAT/CES, tickets sometimes a
CSAT, reviews stars, social posts only sentiment), survey comments are often empty, a few
percent of surveys are employee (eNPS), and volume has a daily and a weekly cycle on a mild
upward trend.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from shared.journey import load_journey

TOPICS = (
    "delivery",
    "product_quality",
    "pricing",
    "customer_support",
    "usability",
    "billing",
    "returns",
    "other",
)
KINDS = {"survey": 40, "ticket": 25, "review": 15, "social": 20}
SOURCES = {
    "survey": {"delighted": 40, "qualtrics": 30, "typeform": 20, "surveymonkey": 10},
    "ticket": {"zendesk": 60, "freshdesk": 25, "intercom": 15},
    "review": {"trustpilot": 45, "google": 30, "appstore": 15, "googleplay": 10},
    "social": {"x": 70, "mastodon": 30},
}
CHANNELS = {
    "survey": {"email": 50, "web": 25, "in_app": 15, "sms": 10},
    "ticket": {"email": 45, "chat": 35, "phone": 20},
    "review": {"web": 70, "in_app": 30},
    "social": {"social": 100},
}
TOUCHPOINTS = {
    "survey": {
        "checkout": 18, "delivery": 16, "brand": 14, "website": 12, "mobile_app": 10,
        "store": 10, "customer_support": 6, "returns": 5, "billing": 4, "loyalty_program": 3,
        "product": 2,
    },
    "ticket": {"customer_support": 55, "billing": 15, "delivery": 15, "returns": 10, "checkout": 5},
    "review": {"product": 55, "mobile_app": 20, "delivery": 10, "store": 8, "customer_support": 7},
    "social": {
        "social_media": 50, "advertising": 15, "brand": 15, "product": 10, "customer_support": 10,
    },
}  # fmt: skip
# How a touchpoint moves the mood of its feedback (added to a 0..1 draw).
MOOD_SHIFT = {
    "billing": -0.09, "returns": -0.07, "delivery": -0.06, "customer_support": -0.04,
    "checkout": -0.01, "advertising": -0.02, "product": 0.02, "brand": 0.03,
    "loyalty_program": 0.06, "store": 0.04,
}  # fmt: skip
# The primary topic a touchpoint's feedback is most often about (the rest spread evenly).
TOPIC_OF = {
    "delivery": "delivery", "billing": "billing", "returns": "returns", "checkout": "pricing",
    "customer_support": "customer_support", "website": "usability", "mobile_app": "usability",
    "product": "product_quality",
}  # fmt: skip
SEGMENTS = {"consumer": 50, "smb": 25, "mid_market": 15, "enterprise": 10}
LANGUAGES = {
    "en": 45, "de": 12, "es": 10, "sv": 7, "fr": 6, "ru": 6, "fa": 4, "it": 4, "nl": 3, "pt": 3,
}  # fmt: skip
SURVEY_TYPES = {"relationship": 35, "transactional": 55, "": 10}
# Share of the week's volume per weekday (Monday first) and of the day's per UTC hour.
WEEKDAYS = {0: 17, 1: 17, 2: 16, 3: 16, 4: 15, 5: 10, 6: 9}
HOURS = {
    0: 1.0, 1: 0.6, 2: 0.4, 3: 0.3, 4: 0.3, 5: 0.5, 6: 1.2, 7: 2.5, 8: 4.0, 9: 5.5, 10: 6.5,
    11: 7.0, 12: 7.0, 13: 6.8, 14: 6.8, 15: 6.5, 16: 6.2, 17: 6.0, 18: 5.8, 19: 5.5, 20: 4.8,
    21: 3.8, 22: 2.6, 23: 1.6,
}  # fmt: skip
TEXTS = {
    "negative": (
        "Still waiting, nobody answers. Contact me at [EMAIL].",
        "Charged twice and the refund never came, call [PHONE]",
        "Parcel arrived broken and support closed my ticket",
        "The app keeps logging me out at checkout",
        "Way too expensive for what you get",
    ),
    "neutral": (
        "It was ok, delivery took the usual three days",
        "Average experience, nothing special",
        "Found what I needed after a while",
        "Price is fine, the site is a bit slow",
    ),
    "positive": (
        "Fast delivery and friendly staff, thank you!",
        "Great quality, will order again",
        "Support solved it in five minutes, [EMAIL] got the invoice",
        "Love the new app, checkout is so easy now",
        "Best price I found and it arrived next day",
    ),
}
DRAWS = (
    "r_kind", "r_src", "r_tp", "r_ch", "r_seg", "r_lang", "r_st", "r_aud", "r_metric", "r_m1",
    "r_m2", "r_noise", "r_week", "r_wd", "r_hour", "r_sec", "r_trend", "r_k", "r_t1", "r_t2",
    "r_t3", "r_txt", "r_del", "r_notext", "r_cust", "r_conf",
)  # fmt: skip


def lit(value: str | int | float) -> str:
    return f"'{value.replace(chr(39), chr(39) * 2)}'" if isinstance(value, str) else str(value)


def pick(draw: str, weights: Mapping[str, float] | Mapping[int, float]) -> str:
    """SQL choosing a key of `weights` in proportion to its weight, by a uniform 0..1 column."""
    items: list[tuple[str | int, float]] = list(weights.items())
    if len(items) == 1:
        return lit(items[0][0])
    total = float(sum(w for _, w in items))
    acc, whens = 0.0, []
    for key, weight in items[:-1]:
        acc += weight / total
        whens.append(f"WHEN {draw} < {acc:.6f} THEN {lit(key)}")
    return f"CASE {' '.join(whens)} ELSE {lit(items[-1][0])} END"


def by_kind(draw: str, table: Mapping[str, Mapping[str, float]]) -> str:
    cases = " ".join(f"WHEN {lit(k)} THEN {pick(draw, w)}" for k, w in table.items())
    return f"CASE kind {cases} END"


def _case(column: str, mapping: Mapping[str, str | float], default: str | float) -> str:
    whens = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in mapping.items())
    return f"CASE {column} {whens} ELSE {lit(default)} END"


def _topic(index: str) -> str:
    return f"(ARRAY[{', '.join(lit(t) for t in TOPICS)}])[1 + ({index})]"


def _text(label: str) -> str:
    arms = " ".join(
        f"WHEN {lit(lab)} THEN (ARRAY[{', '.join(lit(t) for t in texts)}])"
        f"[1 + floor(r_txt * {len(texts)})::int]"
        for lab, texts in TEXTS.items()
    )
    return f"CASE {label} {arms} END"


def insert_sql(start_weekday: int, journey_file: Path | None = None) -> str:
    """INSERT ... SELECT of facts :lo..:hi, dated in the 365 days after :start, a day of the
    week `start_weekday` (Monday 0)."""
    stages = {tp.name: tp.stage.value for tp in load_journey(journey_file).touchpoints}
    draws = ", ".join(f"random() AS {d}" for d in DRAWS)
    primary_idx = {tp: TOPICS.index(t) for tp, t in TOPIC_OF.items()}
    # Level 1 draws each row's random numbers once (OFFSET 0 keeps the planner from inlining
    # the volatile calls into every reference); level 2 picks the categories; level 3 derives
    # the scores from one "mood" per row, so NPS, CSAT, stars and sentiment agree.
    level2 = f"""
        SELECT b.*, kind,
            {by_kind("r_src", SOURCES)} AS source,
            {by_kind("r_ch", CHANNELS)} AS channel,
            {by_kind("r_tp", TOUCHPOINTS)} AS tp,
            {pick("r_seg", SEGMENTS)} AS segment,
            {pick("r_lang", LANGUAGES)} AS language,
            (kind = 'survey' AND r_aud < 0.075) AS employee,
            {pick("r_st", SURVEY_TYPES)} AS st,
            floor(53 * CASE WHEN r_trend < 0.85 THEN r_week ELSE sqrt(r_week) END)::int * 7
                + ({pick("r_wd", WEEKDAYS)} + {7 - start_weekday}) % 7 AS day0,
            {pick("r_hour", HOURS)} AS hour,
            CASE WHEN r_k < 0.15 THEN 0 WHEN r_k < 0.65 THEN 1 WHEN r_k < 0.9 THEN 2 ELSE 3 END
                AS k
        FROM (SELECT g, {draws}
            FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS g OFFSET 0) AS b,
            LATERAL (SELECT {pick("b.r_kind", KINDS)} AS kind) AS kk
        OFFSET 0"""
    level3 = f"""
        SELECT c.*,
            greatest(0.0, least(0.9999, (r_m1 + r_m2) / 2 + {_case("tp", MOOD_SHIFT, 0.0)}))
                AS mood,
            CASE WHEN employee THEN 'relationship' WHEN kind = 'survey' THEN st ELSE '' END
                AS survey_type,
            CAST(:start AS timestamptz) + make_interval(
                days => CASE WHEN day0 >= 365 THEN day0 - 7 ELSE day0 END,
                hours => hour, secs => r_sec * 3600) AS occurred_at,
            (kind = 'survey' AND r_notext < 0.35) AS no_text,
            {_case("tp", primary_idx, -1)} AS tp_topic
        FROM ({level2}) AS c
        OFFSET 0"""
    nps_on = "kind = 'survey' AND (survey_type <> 'transactional' OR r_metric >= 0.8)"
    csat_on = (
        "(kind = 'survey' AND survey_type = 'transactional' AND r_metric < 0.55)"
        " OR (kind = 'ticket' AND r_metric < 0.35)"
    )
    ces_on = (
        "kind = 'survey' AND survey_type = 'transactional' AND r_metric >= 0.55 AND r_metric < 0.8"
    )
    score = "greatest(-1.0, least(1.0, 2 * mood - 1 + (r_noise - 0.5) * 0.6))"
    label = (
        f"CASE WHEN {score} < -0.2 THEN 'negative' WHEN {score} > 0.2 THEN 'positive' "
        "ELSE 'neutral' END"
    )
    # Primary topic: the touchpoint's own topic 60% of the time, else any; the others differ.
    t1 = (
        "CASE WHEN tp_topic >= 0 AND r_t1 < 0.6 THEN tp_topic "
        f"ELSE floor(r_t1 * {len(TOPICS)})::int % {len(TOPICS)} END"
    )
    off2 = f"(1 + floor(r_t2 * {len(TOPICS) - 1})::int)"
    off3 = f"(1 + ({off2} + floor(r_t3 * {len(TOPICS) - 2})::int) % {len(TOPICS) - 1})"
    obj = "jsonb_build_object('label', {}, 'score', round((0.5 + {} / 2)::numeric, 3))"
    o1 = obj.format(_topic(f"({t1})"), "r_t1")
    o2 = obj.format(_topic(f"(({t1}) + {off2}) % {len(TOPICS)}"), "r_t2")
    o3 = obj.format(_topic(f"(({t1}) + {off3}) % {len(TOPICS)}"), "r_t3")
    topics = (
        f"CASE WHEN no_text OR k = 0 THEN '[]'::jsonb WHEN k = 1 THEN jsonb_build_array({o1}) "
        f"WHEN k = 2 THEN jsonb_build_array({o1}, {o2}) "
        f"ELSE jsonb_build_array({o1}, {o2}, {o3}) END"
    )
    stage = _case("tp", stages, "loyalty")
    rule = (
        "CASE kind WHEN 'survey' THEN 'rule:' || tp || '_form' WHEN 'ticket' THEN 'topic:' || tp "
        "WHEN 'review' THEN 'default:review' ELSE 'explicit' END"
    )
    return f"""
    INSERT INTO feedback_facts (
        feedback_id, event_id, revision, revision_rank, received_at, deleted, source_kind, source,
        source_id, occurred_at, bucket_start, touchpoint, journey_stage, touchpoint_rule,
        touchpoint_hint, channel, segment, language, survey_type, audience, customer_id, nps,
        csat, ces, stars, sentiment_label, sentiment_score, sentiment_confidence, primary_topic,
        topics, redacted_text, language_confidence, unscored, unscored_reason, model_version,
        metadata)
    SELECT md5('bench-fact-' || g)::uuid, md5('bench-event-' || g)::uuid, '1', 1,
        occurred_at + interval '3 seconds', r_del < 0.002, kind, source, 'b' || g, occurred_at,
        date_trunc('hour', occurred_at), tp, {stage}, {rule},
        CASE WHEN kind = 'survey' THEN tp END, channel, segment, language, survey_type,
        CASE WHEN employee THEN 'employee' WHEN kind = 'survey' THEN 'customer' ELSE '' END,
        'c' || floor(r_cust * 1000000)::int,
        CASE WHEN {nps_on} THEN floor(11 * power(mood, 0.3))::smallint END,
        CASE WHEN {csat_on} THEN (1 + floor(5 * power(mood, 0.45)))::smallint END,
        CASE WHEN {ces_on} THEN (1 + floor(7 * power(mood, 0.6)))::smallint END,
        CASE WHEN kind = 'review' THEN (1 + floor(5 * power(mood, 0.5)))::smallint END,
        CASE WHEN NOT no_text THEN {label} END,
        CASE WHEN NOT no_text THEN round({score}::numeric, 4)::float8 END,
        CASE WHEN NOT no_text THEN round((0.55 + r_conf * 0.45)::numeric, 3)::float8 END,
        CASE WHEN NOT no_text AND k > 0 THEN {_topic(f"({t1})")} END,
        {topics},
        CASE WHEN NOT no_text AND r_del >= 0.002 THEN {_text(label)} END,
        CASE WHEN NOT no_text THEN round((0.6 + r_conf * 0.4)::numeric, 3)::float8 END,
        no_text, CASE WHEN no_text THEN 'no_text' END, 'bench-1', '{{}}'::jsonb
    FROM ({level3}) AS d"""


def month_starts(start: datetime, end: datetime) -> list[datetime]:
    """First instants of the calendar months that start inside [start, end) and end by `end`."""
    out, cur = [], start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while cur < end:
        nxt = cur.replace(year=cur.year + cur.month // 12, month=cur.month % 12 + 1)
        if cur >= start and nxt <= end:
            out.append(cur)
        cur = nxt
    return out
