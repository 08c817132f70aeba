"""replay's own steps, without a speech model: sentences, turns, the director timeline, session lines."""

from __future__ import annotations

import pytest

from voice_interviewer import events as ev
from voice_interviewer.analysis import label_utterances
from voice_interviewer.director import Director
from voice_interviewer.events import Event
from voice_interviewer.replay import (
    Heard, director_turns, interviewer_utterances, join_words, run_director, split_sentences,
)
from voice_interviewer.scenario import load_scenario
from voice_interviewer.utterances import INTERVIEWER, Utterance, Word


def utterance(*timed_words: tuple[float, str], word_s: float = 0.3) -> Utterance:
    """An utterance from (start_s, word) pairs, each word lasting word_s."""
    words = [Word(t, t + word_s, w) for t, w in timed_words]
    return Utterance(start_s=words[0].start_s, end_s=words[-1].end_s,
                     text=join_words([w.word for w in words]), words=words)


def spoken(start_s: float, text: str, word_s: float = 0.3) -> Utterance:
    return utterance(*[(start_s + i * word_s, w) for i, w in enumerate(text.split())], word_s=word_s)


@pytest.mark.parametrize("tokens, text", [
    (["version", "2", ".3", ".0", "now."], "version 2.3.0 now."),  # Whisper's split of a version
    (["12", "%", "of", "traffic"], "12% of traffic"),
    (["Okay,", "roll", "back?"], "Okay, roll back?"),
])
def test_join_words_reattaches_punctuation_led_tokens(tokens, text):
    assert join_words(tokens) == text


def test_a_segment_of_several_sentences_becomes_one_utterance_each_with_its_own_onset():
    segment = utterance((1.0, "Which"), (1.3, "regions?"), (2.0, "Should"), (2.3, "we"), (2.6, "roll"),
                        (2.9, "back?"), (6.0, "Roll"), (6.3, "back"), (6.6, "the"), (6.9, "auth"),
                        (7.2, "service"), (7.5, "deploy."))
    parts = split_sentences([segment])
    assert [p.text for p in parts] == ["Which regions?", "Should we roll back?", "Roll back the auth service deploy."]
    assert [p.onset_s for p in parts] == [1.0, 2.0, 6.0]
    assert parts[-1].end_s == pytest.approx(7.8)


def test_a_long_pause_without_punctuation_splits_too():
    # tiny.en often drops the full stop between two sentences said after a pause.
    segment = utterance((1.0, "what"), (1.3, "changed"), (4.0, "turn"), (4.3, "off"), (4.6, "the"), (4.9, "flag"))
    assert [p.text for p in split_sentences([segment])] == ["what changed", "turn off the flag"]


def test_abbreviations_do_not_end_a_sentence():
    segment = utterance((0.0, "Check"), (0.3, "e.g."), (0.6, "the"), (0.9, "pool."))
    assert [p.text for p in split_sentences([segment])] == ["Check e.g. the pool."]


def test_extras_on_an_utterance_survive_the_split():
    segment = utterance((0.0, "One."), (0.3, "Two."))
    segment.speaker_name = "Sam"
    assert [p.speaker_name for p in split_sentences([segment])] == ["Sam", "Sam"]


def test_director_turns_join_close_sentences_but_a_mitigation_starts_its_own():
    scenario = load_scenario()
    sentences = [spoken(1.0, "Which regions are affected?"), spoken(2.5, "And what changed?"),
                 spoken(3.6, "Roll back the auth service deploy now."), spoken(9.0, "I'll post a status update.")]
    label_utterances(sentences, scenario)
    turns = director_turns(sentences)
    assert [t.text for t in turns] == ["Which regions are affected? And what changed?",
                                       "Roll back the auth service deploy now.", "I'll post a status update."]
    assert turns[1].concrete_mitigation and turns[1].onset_s == pytest.approx(3.6)
    assert not turns[0].concrete_mitigation


def test_director_cuts_in_when_nothing_is_mitigated_for_too_long():
    """A long silence after a few questions: the no-mitigation curveball comes on the clock."""
    scenario = load_scenario()
    after_s = next(c.trigger.after_s for c in scenario.complications if c.trigger.type == "no_mitigation")
    sentences = [spoken(2.0, "Which endpoints are failing?"), spoken(10.0, "What changed in the last day?"),
                 spoken(after_s + 40, "Roll back the auth service deploy now.")]
    label_utterances(sentences, scenario)
    heard = Heard(utterances=sentences, duration_s=after_s + 60, t0_s=0.0)
    director = Director(scenario, seed=0)

    actions = run_director(director, heard)

    intents = [a.intent for a in actions]
    assert intents[0] == "briefing"
    cut_ins = [a for a in actions if a.intent == "complication"]
    assert cut_ins and after_s <= cut_ins[0].t_s < after_s + 40
    mitigation = [e for e in director.log.events if e.kind == ev.MITIGATION]
    assert mitigation and mitigation[0].data["latency_s"] == pytest.approx(after_s + 40, abs=1e-3)


def test_director_clock_starts_at_t0():
    scenario = load_scenario()
    sentences = [spoken(40.0, "Roll back the auth service deploy now.")]
    label_utterances(sentences, scenario)
    director = Director(scenario, seed=0)
    run_director(director, Heard(utterances=sentences, duration_s=50.0, t0_s=30.0))
    briefing_ended = [e for e in director.log.events if e.kind == ev.BRIEFING_ENDED]
    assert briefing_ended[0].t_s == pytest.approx(30.0)
    mitigation = [e for e in director.log.events if e.kind == ev.MITIGATION]
    assert mitigation[0].data["latency_s"] == pytest.approx(10.0, abs=1e-3)


def test_interviewer_lines_end_where_they_stopped_or_were_cut_off():
    events = [
        Event(0.5, ev.INTERVIEWER_STARTED, {"intent": "briefing", "text": "It's 2am."}),
        Event(4.0, ev.INTERVIEWER_STOPPED),
        Event(20.0, ev.INTERVIEWER_STARTED, {"intent": "answer", "text": "Both regions."}),
        Event(21.5, ev.INTERVIEWER_CUT_OFF, {"heard_text": "Both"}),
    ]
    lines = interviewer_utterances(events)
    assert [(u.start_s, u.end_s, u.text) for u in lines] == [(0.5, 4.0, "It's 2am."), (20.0, 21.5, "Both regions.")]
    assert all(u.speaker == INTERVIEWER for u in lines)


def test_a_sentence_whisper_broke_across_two_segments_is_made_whole():
    # A 30 s decoding window can end mid-sentence: verb in one segment, target in the next.
    first = utterance((28.5, "I'm"), (28.8, "going"), (29.1, "to"), (29.4, "roll"), (29.7, "back"))
    second = utterance((30.1, "the"), (30.4, "auth"), (30.7, "service"), (31.0, "deploy."))
    parts = split_sentences([first, second])
    assert [p.text for p in parts] == ["I'm going to roll back the auth service deploy."]
    assert parts[0].onset_s == 28.5


def test_a_change_of_speaker_ends_a_sentence():
    candidate = utterance((1.0, "Which"), (1.3, "regions"))
    interviewer = utterance((1.7, "Both"), (2.0, "regions."))
    interviewer.speaker = INTERVIEWER
    parts = split_sentences([candidate, interviewer])
    assert [(p.speaker, p.text) for p in parts] == [("candidate", "Which regions"), ("interviewer", "Both regions.")]
