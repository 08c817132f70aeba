"""LLM settings: where they come from, one-line errors, and the key never written."""

from __future__ import annotations

import argparse
import json
import logging
import os

import pytest

from voice_interviewer.errors import UserError
from voice_interviewer.events import EventLog
from voice_interviewer.llm_config import LLMSettings, load_settings, redact, safe_url
from voice_interviewer.scenario import load_scenario
from voice_interviewer.session import SessionWriter
from voice_interviewer.voice import ScriptedVoice, make_voice

KEY = "sk-config-test-0b5c2e9d71aa"


def args(**values):
    base = {"llm_model": None, "llm_base_url": None, "config": None}
    base.update(values)
    return argparse.Namespace(**base)


@pytest.fixture()
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    folder = tmp_path / "voice-interviewer"
    folder.mkdir()
    return folder


def write_config(folder, text):
    path = folder / "config.toml"
    path.write_text(text)
    os.chmod(path, 0o600)
    return path


def test_command_line_beats_environment_beats_config_file(config_dir, monkeypatch):
    write_config(config_dir, '[llm]\nbase_url = "http://127.0.0.1:1/v1"\nmodel = "from-file"\n'
                             f'api_key = "{KEY}"\nfirst_token_timeout_s = 0.8\n')
    s = load_settings(args())
    assert (s.base_url, s.model, s.key_source, s.first_token_timeout_s) == ("http://127.0.0.1:1/v1", "from-file", "config", 0.8)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:2/v1")
    monkeypatch.setenv("OPENAI_API_KEY", KEY + "-env")
    s = load_settings(args())
    assert (s.base_url, s.key_source, s.api_key) == ("http://127.0.0.1:2/v1", "env", KEY + "-env")
    s = load_settings(args(llm_base_url="http://127.0.0.1:3/v1", llm_model="cli"))
    assert (s.base_url, s.model) == ("http://127.0.0.1:3/v1", "cli")


def test_defaults_without_any_config(config_dir):
    s = load_settings(args())
    assert s.base_url is None and s.key_source == "none" and s.first_token_timeout_s == 1.5
    with pytest.raises(UserError, match="needs an endpoint: --llm-base-url URL, OPENAI_BASE_URL"):
        make_voice("openai", load_scenario(), s)


def test_missing_model_is_one_line(config_dir):
    with pytest.raises(UserError, match="needs a model name"):
        make_voice("openai", load_scenario(), load_settings(args(llm_base_url="http://127.0.0.1:9/v1")))


@pytest.mark.parametrize("text, message", [
    ("[llm\nmodel=", "not valid TOML"),
    ('[llm]\nmodle = "x"\n', "llm.modle: unknown setting"),
    ("[llm]\nmax_tokens = \"many\"\n", "llm.max_tokens: wrong type"),
    ("[llm]\nfirst_token_timeout_s = 0\n", "must be positive"),
    ("llm = 3\n", "must be a table"),
])
def test_bad_config_file_is_one_line(config_dir, text, message):
    path = write_config(config_dir, text)
    with pytest.raises(UserError, match=message) as info:
        load_settings(args(config=str(path)))
    assert "\n" not in str(info.value)


def test_wrong_type_error_never_echoes_the_key(config_dir):
    path = write_config(config_dir, "[llm]\napi_key = 12345678901234\n")
    with pytest.raises(UserError) as info:
        load_settings(args(config=str(path)))
    assert "12345678901234" not in str(info.value)


def test_named_config_file_must_exist(tmp_path):
    with pytest.raises(UserError, match="config file not found"):
        load_settings(args(config=str(tmp_path / "nope.toml")))


def test_config_with_a_key_readable_by_others_warns(config_dir, caplog):
    path = write_config(config_dir, f'[llm]\napi_key = "{KEY}"\n')
    os.chmod(path, 0o644)
    with caplog.at_level(logging.WARNING):
        load_settings(args())
    assert "chmod 600" in caplog.text and KEY not in caplog.text


def test_key_is_scrubbed_from_every_log_record_and_never_in_meta(config_dir, monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    s = load_settings(args(llm_base_url="http://user:hunter2secret@127.0.0.1:8080/v1?key=abc", llm_model="m"))
    assert KEY not in repr(s) and KEY not in json.dumps(s.to_meta())
    assert s.to_meta()["base_url"] == "http://127.0.0.1:8080/v1"
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("openai._base_client").debug("headers %s", {"Authorization": f"Bearer {KEY}"})
        logging.getLogger("some.other.library").warning("key=%s pw=%s", KEY, "hunter2secret")
        try:
            raise RuntimeError(f"bad key {KEY}")
        except RuntimeError:
            logging.getLogger("voice_interviewer").exception("failed")
    assert KEY not in caplog.text and "hunter2secret" not in caplog.text
    assert redact(f"x {KEY} y") == "x [redacted] y"

    writer = SessionWriter.create(tmp_path / "s", {"llm": s.to_meta()})
    writer.events.append(0.0, "voice_fallback", reason=redact(f"echo {KEY}"))
    writer.close()
    for path in (tmp_path / "s").iterdir():
        assert KEY not in path.read_text(errors="replace")


def test_safe_url():
    assert safe_url("https://u:p@127.0.0.1:8443/v1/?api-key=1#x") == "https://127.0.0.1:8443/v1/"
    assert safe_url(None) is None


def test_scripted_voice_is_the_default_and_offline(config_dir):
    scenario = load_scenario()
    voice = make_voice("scripted", scenario, None, log=EventLog())
    assert isinstance(voice, ScriptedVoice)
    from voice_interviewer.actions import Action

    action = Action("briefing", scenario.briefing_text)
    assert list(voice.say(action, [])) == [
        "It's 2am and you're the on-call engineer.", "You've just been paged.",
        "The core API is returning 500 errors on about 12% of traffic, and the alert has been firing for fifteen minutes already.",
        "You have the dashboards, the deploy log and the incident channel.", "What do you do?"]
    with pytest.raises(UserError, match="unknown voice"):
        make_voice("gpt", scenario)


def test_settings_dataclass_hides_the_key():
    assert "sk-" not in repr(LLMSettings(api_key="sk-abcdefgh"))
