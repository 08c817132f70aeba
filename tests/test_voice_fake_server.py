"""The OpenAI voice against a misbehaving fake endpoint: every failure gives the
scripted line, one warning, a voice_fallback event, and never an exception.

The real llama.cpp server is exercised in test_llm_server.py."""

from __future__ import annotations

import logging
import socket

import pytest

from fake_openai import FakeOpenAI
from voice_interviewer.actions import Action
from voice_interviewer.events import VOICE_FALLBACK, EventLog
from voice_interviewer.llm_config import LLMSettings
from voice_interviewer.scenario import load_scenario
from voice_interviewer.sentences import split_sentences
from voice_interviewer.voice import OpenAIVoice, make_voice

SECRET = "sk-test-DO-NOT-LEAK-4f9a0c1e7b"


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("core-api-500s")


@pytest.fixture(scope="module")
def fake_server():
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture()
def server(fake_server):
    fake_server.reply, fake_server.delay_s, fake_server.cut_fraction = "Fine.", 0.0, 0.5
    fake_server.requests.clear()
    return fake_server


def voice_for(server_or_url, mode, scenario, log=None, **overrides):
    base = server_or_url if isinstance(server_or_url, str) else server_or_url.base_url
    settings = LLMSettings(base_url=base, model=mode, api_key=SECRET, key_source="env",
                           first_token_timeout_s=overrides.pop("first_token_timeout_s", 2.0),
                           line_timeout_s=overrides.pop("line_timeout_s", 3.0), **overrides)
    return make_voice("openai", scenario, settings, log=log if log is not None else EventLog())


def database_action(scenario):
    return Action("answer", scenario.fact("database").answer, fact_ids=["database"], t_s=12.5)


def fallbacks(voice):
    return [e for e in voice.log.events if e.kind == VOICE_FALLBACK]


def test_good_stream_is_spoken_sentence_by_sentence(server, scenario):
    server.reply = "Right now the auth database sits at 200 of 200 connections. That has been the case since 1:46 am, with CPU at 35%."
    voice = voice_for(server, "ok", scenario)
    spoken = list(voice.say(database_action(scenario), [("candidate", "How's the database?")]))
    assert spoken == split_sentences(server.reply)
    assert voice.last.source == "llm" and not fallbacks(voice)
    assert voice.last.first_token_s is not None


def test_request_carries_intent_facts_and_transcript_but_not_root_cause(server, scenario):
    server.reply = "The auth database is at 200 of 200 connections since 1:46 am, CPU 35%."
    voice = voice_for(server, "ok", scenario)
    list(voice.say(database_action(scenario), [("candidate", "What's the database doing?")]))
    request = server.requests[-1]["json"]
    prompt = "\n".join(m["content"] for m in request["messages"])
    assert scenario.fact("database").answer in prompt
    assert "What's the database doing?" in prompt
    assert scenario.root_cause not in prompt
    assert "exhausted" not in prompt and "per request" not in prompt
    # a fact the director has not revealed is not offered to the model
    assert scenario.fact("feature-flag").answer not in prompt
    assert request["stream"] is True


@pytest.mark.parametrize("mode, reason_part", [
    ("401", "HTTP 401"),
    ("429", "HTTP 429"),
    ("500", "HTTP 500"),
    ("malformed", "malformed"),
    ("badshape", "malformed"),
    ("cut", "stream cut"),
    ("eof", "stream cut"),
])
def test_failures_fall_back_to_the_scripted_line(server, scenario, mode, reason_part, caplog):
    server.reply = "The auth database is at 200 of 200 connections, since 1:46 am. CPU on it is 35%."
    server.cut_fraction = 0.3  # inside the first sentence: nothing speakable yet
    voice = voice_for(server, mode, scenario)
    action = database_action(scenario)
    with caplog.at_level(logging.DEBUG):
        spoken = list(voice.say(action, [("candidate", "database?")]))
    assert spoken == split_sentences(action.text)
    events = fallbacks(voice)
    assert len(events) == 1 and reason_part in events[0].data["reason"]
    assert events[0].data["spoken"] == "scripted" and events[0].t_s == 12.5
    assert SECRET not in caplog.text


def test_cut_after_the_facts_keeps_what_was_said_and_drops_the_torn_sentence(server, scenario):
    server.reply = "The auth database is at 200 of 200 connections since 1:46 am, CPU 35%. The main API database looks completely normal to me."
    server.cut_fraction = 0.85
    voice = voice_for(server, "cut", scenario)
    spoken = list(voice.say(database_action(scenario)))
    assert spoken == ["The auth database is at 200 of 200 connections since 1:46 am, CPU 35%."]
    assert voice.last.source == "llm_partial"
    assert fallbacks(voice)[0].data["spoken"] == "partial"


def test_each_problem_is_warned_once_not_per_turn(server, scenario, caplog):
    voice = voice_for(server, "500", scenario)
    with caplog.at_level(logging.WARNING, logger="voice_interviewer.voice"):
        for _ in range(4):
            list(voice.say(database_action(scenario)))
            voice._paused_until = 0.0  # try the endpoint every turn, as after the pause
    warnings = [r for r in caplog.records if r.name == "voice_interviewer.voice" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert len(fallbacks(voice)) == 4


def test_401_turns_the_llm_off_for_the_session(server, scenario):
    voice = voice_for(server, "401", scenario)
    for _ in range(3):
        assert list(voice.say(database_action(scenario))) == split_sentences(database_action(scenario).text)
    assert len(server.requests) == 1
    assert all("HTTP 401" in e.data["reason"] for e in fallbacks(voice))


def test_429_pauses_then_retries(server, scenario):
    voice = voice_for(server, "429", scenario)
    list(voice.say(database_action(scenario)))
    list(voice.say(database_action(scenario)))
    assert len(server.requests) == 1  # the second turn did not hit the endpoint
    voice._paused_until = 0.0  # Retry-After: 1 elapsed
    list(voice.say(database_action(scenario)))
    assert len(server.requests) == 2


def test_no_first_token_in_budget_gives_the_scripted_line_on_time(server, scenario):
    import time

    server.delay_s = 2.0
    voice = voice_for(server, "slow", scenario, first_token_timeout_s=0.3)
    started = time.monotonic()
    spoken = list(voice.say(database_action(scenario)))
    waited_s = time.monotonic() - started
    assert spoken == split_sentences(database_action(scenario).text)
    assert "no first token within 0.3 s" in fallbacks(voice)[0].data["reason"]
    assert waited_s < 1.5  # the budget, not the server's delay, decides


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dead_endpoint_scripted_fallback_one_log_line(scenario, caplog):
    voice = voice_for(f"http://127.0.0.1:{free_port()}/v1", "ok", scenario)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            assert list(voice.say(database_action(scenario))) == split_sentences(database_action(scenario).text)
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "cannot connect" in lines[0].getMessage()
    assert len(fallbacks(voice)) == 3


def test_guard_rejection_uses_scripted_line(server, scenario):
    server.reply = "The auth database is at 200 of 200 connections since 1:46 am. CPU is 35% and the pool has been exhausted for 90 minutes."
    voice = voice_for(server, "ok", scenario)
    spoken = list(voice.say(database_action(scenario)))
    # The first sentence lacks "35", so it is held; the second reveals the
    # root cause and invents "90": the whole line is replaced.
    assert spoken == split_sentences(database_action(scenario).text)
    assert fallbacks(voice)[0].data["reason"] == "reveals the hidden root cause"


def test_held_sentences_are_not_spoken_when_a_later_one_fails(server, scenario):
    # The first sentence lacks a required number, so it is held back; the
    # second invents a number; nothing generated reaches the speaker.
    server.reply = "The auth database is full since 1:46 am. It is at 200 of 250 connections with 35% CPU."
    voice = voice_for(server, "ok", scenario)
    spoken = list(voice.say(database_action(scenario)))
    assert spoken == split_sentences(database_action(scenario).text)
    assert "250" in fallbacks(voice)[0].data["reason"]


def test_closing_the_generator_mid_line_cancels_the_stream(server, scenario):
    server.reply = "The auth database is at 200 of 200 connections. It has been so since 1:46 am. CPU is at 35%."
    voice = voice_for(server, "ok", scenario)
    sentences = voice.say(Action("answer", server.reply), [])
    first = next(sentences)
    sentences.close()  # barge-in: the live loop stops listening
    assert first.startswith("The auth database")
    assert not fallbacks(voice)


def test_the_voice_never_raises_for_an_unexpected_client_error(scenario):
    class Broken:
        class chat:
            class completions:
                @staticmethod
                def create(**kwargs):
                    raise RuntimeError("boom")

    voice = OpenAIVoice(scenario, LLMSettings(base_url="http://127.0.0.1:9/v1", model="m"),
                        log=EventLog(), client=Broken())
    assert list(voice.say(database_action(scenario))) == split_sentences(database_action(scenario).text)
    assert "RuntimeError" in fallbacks(voice)[0].data["reason"]


def test_a_slow_endpoint_is_paused_after_three_missed_budgets(server, scenario, caplog):
    server.delay_s = 0.5
    voice = voice_for(server, "slow", scenario, first_token_timeout_s=0.05)
    with caplog.at_level(logging.WARNING, logger="voice_interviewer.voice"):
        for _ in range(5):
            list(voice.say(database_action(scenario)))
    assert len(server.requests) == 3  # turns 4 and 5 did not wait on it
    reasons = [e.data["reason"] for e in fallbacks(voice)]
    assert reasons[3].startswith("endpoint unavailable (no first token")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and "for 30 s" in warnings[1]
