"""Engineering jargon read aloud the way engineers say it."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voice_interviewer.live.textnorm import RULES, normalise_for_speech, normalise_key, number_to_words


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_each_rule_on_its_own_example(rule):
    text, expected = rule.example
    assert normalise_for_speech(text) == expected


@pytest.mark.parametrize("text, spoken", [
    ("5xx", "five x x"),
    ("500s", "five hundreds"),
    ("p99", "p ninety-nine"),
    ("P95", "p ninety-five"),
    ("p99.9", "p ninety-nine point nine"),
    ("k8s", "kubernetes"),
    ("eu-west-1", "e u west one"),
    ("us-east-2", "u s east two"),
    ("v2.3.1", "version two point three point one"),
    ("1:40 am", "one forty a m"),
    ("2:05 PM", "two oh five p m"),
    ("02:00", "two o'clock"),
    ("14:30", "fourteen thirty"),
    ("2am", "two a m"),
    ("12%", "twelve percent"),
    ("0.5%", "zero point five percent"),
    ("4,000", "four thousand"),
    ("1,250,000", "one million two hundred fifty thousand"),
    ("2.1 s", "two point one seconds"),
    ("1 s", "one second"),
    ("80 ms", "eighty milliseconds"),
    ("80ms", "eighty milliseconds"),
    ("30 min", "thirty minutes"),
    ("512 MB", "five hundred twelve megabytes"),
    ("4k rps", "four thousand requests per second"),
    ("503", "five oh three"),
    ("429", "four twenty-nine"),
    ("SLA", "S L A"),
    ("DB", "D B"),
    ("TLS", "T L S"),
    ("DNS", "D N S"),
    ("API", "A P I"),
    ("APIs", "A P Is"),
    ("the 3rd deploy", "the third deploy"),
    ("21st", "twenty-first"),
])
def test_engineering_terms(text, spoken):
    assert normalise_for_speech(text) == spoken


def test_a_whole_briefing_line():
    line = "Core API returning 500s on 12% of traffic in eu-west-1 since v2.3.1 shipped at 1:40 am; p99 is 2.1 s."
    assert normalise_for_speech(line) == (
        "Core A P I returning five hundreds on twelve percent of traffic in e u west one since version two "
        "point three point one shipped at one forty a m; p ninety-nine is two point one seconds.")


def test_words_that_only_look_like_jargon_are_left_alone():
    assert normalise_for_speech("Send the API docs to the DBA team") == "Send the A P I docs to the DBA team"
    assert normalise_for_speech("capacity and latency") == "capacity and latency"


@pytest.mark.parametrize("n, words", [(0, "zero"), (13, "thirteen"), (40, "forty"), (99, "ninety-nine"),
                                      (100, "one hundred"), (101, "one hundred one"),
                                      (4000, "four thousand"), (1_000_001, "one million one")])
def test_number_to_words(n, words):
    assert number_to_words(n) == words


def test_cache_keys_ignore_case_and_spacing():
    assert normalise_key("p99  is UP") == normalise_key("P99 is up")


TOKENS = ["5xx", "500s", "p99", "k8s", "eu-west-1", "v2.3.1", "1:40 am", "12%", "4,000", "2.1 s", "80 ms",
          "SLA", "DB", "API", "503", "3rd", "rollback", "the", "deploy", "checkout", "42", "0.75", "2am", "&"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12))
def test_output_is_digit_free_and_stable(tokens):
    spoken = normalise_for_speech(" ".join(tokens))
    assert not re.search(r"\d", spoken)
    assert normalise_for_speech(spoken) == spoken
