"""Sentence cutting for streamed speech: numbers, versions, abbreviations, and
streamed text cut exactly where the whole text is."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from voice_interviewer.scenario import builtin_ids, load_scenario
from voice_interviewer.sentences import SentenceStream, split_sentences


@pytest.mark.parametrize("text, expected", [
    ("Auth v2.3.1 went out at 1:40 am. Errors began at 1:45 am.",
     ["Auth v2.3.1 went out at 1:40 am.", "Errors began at 1:45 am."]),
    ("The p99.9 is 2.1 seconds. CPU is 35.5%.", ["The p99.9 is 2.1 seconds.", "CPU is 35.5%."]),
    ("Check the usual signals, e.g. the deploy log. Then act.", ["Check the usual signals, e.g. the deploy log.", "Then act."]),
    ("Use a reversible step, i.e. Rollback first.", ["Use a reversible step, i.e. Rollback first."]),
    ("It started at 1:45 a.m. and is flat.", ["It started at 1:45 a.m. and is flat."]),
    # A unit after a number is not an initial (the splitter live/tts.py used to have).
    ("Latency is 1.5 s. What now?", ["Latency is 1.5 s.", "What now?"]),
    ("p99 went from 80 ms. To 2.1 s.", ["p99 went from 80 ms.", "To 2.1 s."]),
    ("Ask J. Smith first.", ["Ask J. Smith first."]),
    ("It started at 1:45 a.m. Then it held.", ["It started at 1:45 a.m.", "Then it held."]),
    ("Is it bad? Yes! it is.", ["Is it bad?", "Yes!", "it is."]),
    ('She said "roll back." Then she left.', ['She said "roll back."', "Then she left."]),
    ("Wait... the rate is 12%. Go on", ["Wait... the rate is 12%.", "Go on"]),
    ("Version 2.3.1. Rolled back to 2.3.0.", ["Version 2.3.1.", "Rolled back to 2.3.0."]),
    ("First line\nsecond line", ["First line", "second line"]),
    ("About 4,000 requests per second. Fine.", ["About 4,000 requests per second.", "Fine."]),
    ("", []),
])
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_a_sentence_waits_for_the_next_word_before_it_is_complete():
    stream = SentenceStream()
    assert stream.feed("The version is v2.") == []
    assert stream.feed("3.1") == []
    assert stream.feed(". ") == []  # "v2.3.1. the" would not end here
    assert stream.feed("T") == ["The version is v2.3.1."]
    assert stream.flush() == ["T"]


_ALPHABET = st.sampled_from(list("ab ZQ.,:!?\n%\"'") + ["v2.3.1", "1:40", "e.g.", "p99.9", " am.", " The", "2.1"])


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(_ALPHABET, max_size=40), cuts=st.lists(st.integers(1, 7), max_size=40))
def test_streamed_text_is_cut_as_the_whole_text(pieces, cuts):
    text = "".join(pieces)
    stream, sentences, i = SentenceStream(), [], 0
    for size in cuts or [len(text) or 1]:
        sentences += stream.feed(text[i:i + size])
        i += size
    sentences += stream.feed(text[i:]) + stream.flush()
    assert sentences == split_sentences(text)
    assert " ".join(sentences).split() == text.split()


@pytest.mark.parametrize("scenario_id", builtin_ids())
def test_scripted_lines_split_at_real_ends_only(scenario_id):
    scenario = load_scenario(scenario_id)
    for line in [*scenario.briefing, *(f.answer for f in scenario.facts)]:
        for sentence in split_sentences(line):
            assert sentence[-1] in ".!?\"'", sentence
