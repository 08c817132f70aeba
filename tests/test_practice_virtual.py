"""The practice loop on the in-process virtual devices, with the real models.

Every session runs the real Silero VAD, tiny.en, the director, the scripted
voice and Piper; the candidate is espeak-ng speech fed into the virtual mic
at known times. Processing runs inline (LoopSettings.inline_processing), so
each session is deterministic on the virtual clock; the threaded path is
covered by the SIGKILL/SIGINT subprocess tests and the latency benchmark.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import practice_harness as harness
from speech_scenes import clip_onset_s
from voice_interviewer import events as ev
from voice_interviewer.live.devices import AudioDeviceError, VirtualDevicePair
from voice_interviewer.live.practice import heard_part, with_stop_prefix
from voice_interviewer.replay import replay_path

SR = 16_000
REPO = Path(__file__).resolve().parent.parent


def kinds(result, kind):
    return [e for e in result.events if e.kind == kind]


def rms_db(audio: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(np.square(audio, dtype=np.float64))) + 1e-9)


def window(track: np.ndarray, start_s: float, end_s: float) -> np.ndarray:
    return track[int(start_s * SR):int(end_s * SR)]


# ------------------------------------------------------------------ pure parts


def test_heard_part_cuts_at_the_playback_position():
    sentences = [("The rollback is going out.", 2.0), ("It will take about four minutes.", 2.0)]
    assert heard_part(sentences, 0.0) == ""
    assert heard_part(sentences, 2.0) == "The rollback is going out."
    assert heard_part(sentences, 4.0) == " ".join(t for t, _ in sentences)
    half = heard_part(sentences, 3.0)
    assert half.startswith("The rollback is going out. It will")
    assert "minutes" not in half


def test_stop_prefix_is_added_once():
    assert with_stop_prefix("We're at 12%.").startswith("Let me stop you there")
    line = "Let me stop you there. We're at 12%."
    assert with_stop_prefix(line) == line


# ---------------------------------------------------------- whole sessions


@pytest.fixture(scope="module")
def conversation(tmp_path_factory):
    """Briefing, a question, a mitigation; the speakers leak into the mic at -12 dB, echo cancelled."""
    pair = VirtualDevicePair(echo_gain_db=-12.0, echo_delay_ms=60.0, duration_s=62.0)
    question = harness.candidate(harness.QUESTION)
    mitigation = harness.candidate(harness.MITIGATION)
    pair.feed(question, at_s=18.0)
    pair.feed(mitigation, at_s=40.0)
    result = harness.run(pair, tmp_path_factory.mktemp("conv") / "sessions", echo_cancel=True)
    return pair, result, 40.0 + clip_onset_s(mitigation)


def test_briefing_is_spoken_first(conversation):
    pair, result, _ = conversation
    started = kinds(result, ev.INTERVIEWER_STARTED)
    assert started[0].data["intent"] == "briefing" and started[0].t_s < 0.5
    t0 = kinds(result, ev.BRIEFING_ENDED)[0].t_s
    stopped = kinds(result, ev.INTERVIEWER_STOPPED)[0]
    assert abs(stopped.t_s - t0) < 0.1, "the mitigation clock starts when the briefing audio ends"
    spoken = harness.transcriber().transcribe(window(pair.output.recorded(), 0.0, t0))
    text = " ".join(u.text for u in spoken).lower()
    assert "dashboards" in text and "incident" in text


def test_question_gets_the_scenarios_answer(conversation):
    pair, result, _ = conversation
    assert [e.data["fact_id"] for e in kinds(result, ev.FACT_REVEALED)][:1] == ["blast-radius"]
    answer = next(e for e in kinds(result, ev.INTERVIEWER_STARTED) if e.data["intent"] == "answer")
    assert "login, checkout" in answer.data["text"]
    assert 18.0 < answer.t_s < 25.0
    heard = harness.transcriber().transcribe(window(pair.output.recorded(), answer.t_s, answer.t_s + 6.0))
    assert "account pages" in " ".join(u.text for u in heard).lower()


def test_echo_is_not_the_candidate(conversation):
    """The -12 dB leak of every interviewer line neither barges in nor is transcribed as the candidate."""
    _, result, _ = conversation
    assert not kinds(result, ev.INTERVIEWER_CUT_OFF)
    said = " ".join(u.text.lower() for u in result.utterances)
    assert "dashboards" not in said and "checkout" not in said
    assert "roll back" in said or "rollback" in said


def test_session_folder_replays_to_the_same_mitigation_time(conversation):
    _, result, mitigation_onset_s = conversation
    live = result.report["mitigation"]
    assert live["kind"] == "rollback"
    assert abs(live["onset_s"] - mitigation_onset_s) < 0.5
    folder = result.folder
    assert (folder / "report.json").is_file() and oct(folder.stat().st_mode & 0o777) == "0o700"
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["seed"] == 1 and meta["t0_s"] == pytest.approx(result.report["t0_s"], abs=1e-3)
    replayed = replay_path(folder, write=False, history=False)
    assert replayed["t0_s"] == pytest.approx(result.report["t0_s"], abs=1e-3)
    assert replayed["mitigation"]["latency_s"] == pytest.approx(live["latency_s"], abs=0.5)


def test_tracks_share_one_clock(conversation):
    pair, result, _ = conversation
    from voice_interviewer.session import read_wav_tolerant

    interviewer, _ = read_wav_tolerant(result.folder / "interviewer.wav")
    candidate, _ = read_wav_tolerant(result.folder / "candidate.wav")
    assert abs(len(interviewer) - len(candidate)) <= 0.05 * SR
    played = pair.output.recorded()
    n = min(len(played), len(interviewer))
    assert np.max(np.abs(interviewer[:n] - np.clip(played[:n], -1, 1))) < 1e-3  # what was played, where it was


def test_barge_in_stops_playback_and_keeps_what_was_heard(tmp_path):
    """The candidate talks over the briefing, six seconds in."""
    pair = VirtualDevicePair(duration_s=20.0)
    barge = harness.candidate("Sorry, wait. Is the database full?")
    fed = {"line_start": 0.0, "at": 6.0}
    pair.feed(barge, at_s=fed["at"])
    result = harness.run(pair, tmp_path)
    onset_s = fed["at"] + clip_onset_s(barge)
    cut = kinds(result, ev.INTERVIEWER_CUT_OFF)
    assert len(cut) == 1
    assert 0 < cut[0].t_s - onset_s <= 0.25, "playback stops within 250 ms of the candidate's speech onset"
    played = pair.output.recorded()
    assert rms_db(window(played, onset_s + 0.25, onset_s + 1.0)) < -60, "silence after the cut"
    assert rms_db(window(played, onset_s - 1.0, onset_s)) > -40, "the line was playing before it"

    full = cut[0].data["text"]
    heard = cut[0].data["heard_text"]
    assert full.startswith(heard) and 0 < len(heard) < len(full)
    assert cut[0].data["heard_s"] == pytest.approx(cut[0].t_s - fed["line_start"], abs=0.15)
    # About six seconds of a Piper line at ~15 characters a second.
    assert 50 <= len(heard) <= 130


def test_complication_interrupts_a_long_monologue(tmp_path):
    sentences = harness.MONOLOGUE_SENTENCES
    pair = VirtualDevicePair(duration_s=100.0)
    t = 16.5
    for s in sentences:
        t = pair.feed(harness.candidate(s), at_s=t) + 0.1
    monologue_end_s = t
    result = harness.run(pair, tmp_path)
    interruptions = kinds(result, ev.INTERRUPTION)
    assert interruptions, "the interviewer cut in"
    cut_in = interruptions[0]
    assert cut_in.t_s < monologue_end_s, "it took the floor while the candidate was still talking"
    assert cut_in.data["complication_id"] in {c.id for c in harness.scenario().complications if c.interrupt}
    line = next(e for e in kinds(result, ev.INTERVIEWER_STARTED) if e.data["intent"] == "complication")
    assert line.data["text"].startswith("Let me stop you there") or line.data["text"].startswith("While you dig")
    assert rms_db(window(pair.output.recorded(), line.t_s, line.t_s + 1.0)) > -40
    assert not kinds(result, ev.INTERVIEWER_CUT_OFF), "an interrupting line holds the floor"


# ------------------------------------------------------------------ faults


class _UnpluggedMic:
    """The virtual mic, failing as sounddevice reports an unplugged device."""

    def __init__(self, inner, fail_at_s):
        self.inner, self.fail_at_s, self.reads = inner, fail_at_s, 0
        self.sample_rate_native, self.latency_s = inner.sample_rate_native, inner.latency_s

    @property
    def exhausted(self):
        return self.inner.exhausted

    def start(self):
        self.inner.start()

    def stop(self):
        self.inner.stop()

    def read(self, timeout_s=None):
        self.reads += 1
        if self.reads * 512 / SR > self.fail_at_s:
            raise AudioDeviceError("input device disappeared (unplugged?)")
        return self.inner.read(timeout_s)


def test_device_unplugged_mid_session_keeps_the_audio(tmp_path):
    pair = VirtualDevicePair(duration_s=60.0)
    pair.feed(harness.candidate(harness.MITIGATION), at_s=18.0)

    class Pair:
        input = _UnpluggedMic(pair.input, 26.0)
        output = pair.output

    result = harness.run(Pair, tmp_path)
    assert result.end_reason == "device_error"
    assert "unplugged" in result.message and "\n" not in result.message
    assert kinds(result, ev.DEVICE_ERROR)
    assert result.report["mitigation"]["kind"] == "rollback"
    assert replay_path(result.folder, write=False, history=False)["mitigation"]["kind"] == "rollback"


def test_disk_full_stops_cleanly_and_keeps_what_was_written(tmp_path, monkeypatch):
    from voice_interviewer import session

    real_write = session.IncrementalWav.write_int16

    def write_until_full(self, samples):
        if self.path.name == "candidate.wav" and self.samples_written >= 26 * SR:
            raise OSError(28, "No space left on device")
        real_write(self, samples)

    monkeypatch.setattr(session.IncrementalWav, "write_int16", write_until_full)
    pair = VirtualDevicePair(duration_s=60.0)
    pair.feed(harness.candidate(harness.MITIGATION), at_s=18.0)
    result = harness.run(pair, tmp_path)
    assert result.end_reason == "disk_full"
    assert result.message.startswith("disk full")
    monkeypatch.undo()
    replayed = replay_path(result.folder, write=False, history=False)
    assert replayed["mitigation"]["kind"] == "rollback"
    assert replayed["duration_s"] >= 25.0


def _start_child(sessions: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO / "tests"))
    child = subprocess.Popen([sys.executable, str(REPO / "tests" / "practice_harness.py"), str(sessions),
                              "--speed", "2.0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                             text=True)
    for line in child.stdout:  # the screen's plain lines come first
        if line.strip() == "ready":
            return child
    raise AssertionError(f"the session did not start: {child.stderr.read()[-2000:]}")


def _wait_for_event(folder_glob, kind: str, timeout_s: float = 120.0, count: int = 1) -> Path:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for events in folder_glob():
            if events.read_text().count(f'"kind": "{kind}"') >= count:
                return events.parent
        time.sleep(0.2)
    raise AssertionError(f"no {kind} event within {timeout_s} s")


def test_sigkill_mid_session_leaves_a_replayable_folder(tmp_path):
    sessions = tmp_path / "sessions"
    child = _start_child(sessions)
    try:
        # The second candidate turn, the mitigation, has been heard: kill it there.
        folder = _wait_for_event(lambda: sessions.glob("*/events.jsonl"), ev.TRANSCRIPT_FINAL, count=2)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    assert not (folder / "report.json").exists()
    replayed = replay_path(folder, write=False, history=False)
    assert replayed["t0_s"] > 10.0  # briefing_ended survived
    assert replayed["mitigation"]["kind"] == "rollback"


def test_sigint_ends_cleanly_with_a_report(tmp_path):
    sessions = tmp_path / "sessions"
    child = _start_child(sessions)
    try:
        folder = _wait_for_event(lambda: sessions.glob("*/events.jsonl"), ev.TRANSCRIPT_FINAL)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, stderr[-2000:]
    assert "Traceback" not in stderr
    report = json.loads((folder / "report.json").read_text())
    assert report["events"][-1]["kind"] == "session_ended"
    assert report["events"][-1]["reason"] == "interrupted"


def _practice_cli(tmp_path, *args, prelude: str = "") -> subprocess.CompletedProcess:
    code = (f"{prelude}\nimport sys\nfrom voice_interviewer.cli import main\n"
            f"sys.exit(main(['practice', '--sessions-dir', {str(tmp_path / 's')!r}, *{list(args)!r}]))")
    env = dict(os.environ, VOICE_INTERVIEWER_HOME=str(tmp_path / "home"))
    env.pop("PULSE_SERVER", None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_no_such_input_device_is_one_line_and_no_folder(tmp_path):
    proc = _practice_cli(tmp_path, "--input", "no-such-mic-xyz")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("voice-interviewer: "), proc.stderr
    assert "no-such-mic-xyz" in lines[0] or "no input device" in lines[0] or "PortAudio" in lines[0]
    assert not (tmp_path / "s").exists() or not any((tmp_path / "s").iterdir())


def test_portaudio_missing_is_one_line(tmp_path):
    # sounddevice finds libportaudio through ctypes.util.find_library; hide it
    # there, as on a machine without libportaudio2.
    prelude = ("import ctypes.util as u\nf = u.find_library\n"
               "u.find_library = lambda name: None if 'portaudio' in name else f(name)")
    proc = _practice_cli(tmp_path, prelude=prelude)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "PortAudio" in lines[0] and "libportaudio2" in lines[0], proc.stderr
