"""End to end: replay every rehearsal fixture with the real model and compare with truth.json.

truth.json is written by audio_fixtures/render.py from where it placed each
synthesised line (the first non-silent sample, measured), so these tests
check the whole path: decoding, VAD, Whisper's word times, the onset
correction, the mitigation detector and the verdict.

The speech model is loaded once for the module and shared by every replay.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import FIXTURES_DIR
from voice_interviewer import events as ev
from voice_interviewer.replay import make_transcriber, replay_path
from voice_interviewer.scenario import load_scenario
from voice_interviewer.session import SessionWriter, read_wav_tolerant

pytestmark = pytest.mark.slow

TRUTH = json.loads((FIXTURES_DIR / "truth.json").read_text(encoding="utf-8"))["fixtures"]
# The bar for the mitigation clock.
ONSET_TOLERANCE_S = 0.5


@pytest.fixture(scope="module")
def transcriber():
    return make_transcriber(load_scenario())


@pytest.fixture(scope="module")
def replays(transcriber, request):
    """Every fixture replayed once; the truth-vs-measured table printed even under capture."""
    results = {}
    for name, truth in TRUTH.items():
        results[name] = replay_path(FIXTURES_DIR / truth["file"], scenario=truth["scenario"],
                                    transcriber=transcriber, write=False, history=False, progress=False)
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n" + truth_table(results))
    return results


def truth_table(results: dict[str, dict]) -> str:
    rows = [f"{'fixture':<18} {'truth s':>8} {'measured':>8} {'whisper':>8} {'error':>7}  "
            f"{'verdict (truth/measured)':<26} quote"]
    for name, report in results.items():
        truth, mitigation = TRUTH[name], report["mitigation"]
        onset, measured, whisper = truth["mitigation_onset_s"], mitigation["onset_s"], mitigation.get("whisper_onset_s")
        error = "" if onset is None or measured is None else f"{measured - onset:+.2f}"
        rows.append(f"{name:<18} {_s(onset):>8} {_s(measured):>8} {_s(whisper):>8} {error:>7}  "
                    f"{truth['two_minute_verdict'] + ' / ' + report['two_minute_verdict']:<26} "
                    f"{(mitigation.get('quote') or '')[:60]}")
    return "\n".join(rows)


def _s(value) -> str:
    return "-" if value is None else f"{value:.2f}"


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_fixture_verdict(replays, name):
    assert replays[name]["two_minute_verdict"] == TRUTH[name]["two_minute_verdict"]


@pytest.mark.parametrize("name", sorted(n for n, t in TRUTH.items() if t["mitigation_onset_s"] is not None))
def test_fixture_mitigation_onset_within_half_a_second(replays, name):
    truth_s = TRUTH[name]["mitigation_onset_s"]
    mitigation = replays[name]["mitigation"]
    assert mitigation["onset_s"] is not None, f"no mitigation found; truth is {truth_s:.2f} s"
    assert abs(mitigation["onset_s"] - truth_s) <= ONSET_TOLERANCE_S
    # A raw recording's clock starts at its first sample.
    assert mitigation["latency_s"] == pytest.approx(mitigation["onset_s"] - replays[name]["t0_s"], abs=1e-3)


@pytest.mark.parametrize("name", sorted(n for n, t in TRUTH.items() if t["mitigation_onset_s"] is None))
def test_fixture_that_never_mitigates_reports_none(replays, name):
    report = replays[name]
    assert report["two_minute_verdict"] == "none"
    assert report["mitigation"]["onset_s"] is None and report["mitigation"]["latency_s"] is None
    assert not any(u["concrete_mitigation"] for u in report["utterances"])


@pytest.mark.parametrize("name", ["question_first", "negated_first"])
def test_hard_negative_line_is_heard_but_not_counted(replays, name):
    """The question / the negation comes first and must not start the clock."""
    truth = TRUTH[name]
    first_real = truth["mitigation_onset_s"]
    before = [u for u in replays[name]["utterances"]
              if u["speaker"] == "candidate" and u["end"] < first_real - ONSET_TOLERANCE_S]
    assert any("roll" in u["text"].lower() for u in before), "the hard negative was not transcribed"
    assert not any(u["concrete_mitigation"] for u in before)


def test_report_carries_the_director_timeline_for_a_raw_recording(replays):
    """The slow diagnoser goes past the mark: the director would have cut in before it."""
    pytest.importorskip("voice_interviewer.director")
    report = replays["slow_diagnoser"]
    assert report["interviewer"], "no would-have-said lines"
    first_interrupt = [a for a in report["interviewer"] if a["intent"] == "complication"]
    assert first_interrupt and first_interrupt[0]["t_s"] < TRUTH["slow_diagnoser"]["mitigation_onset_s"]


def test_session_folder_clock_starts_at_the_end_of_the_briefing(tmp_path, transcriber):
    """A session folder written by SessionWriter: t0 comes from briefing_ended, reports go beside it."""
    truth = TRUTH["fast_rollback"]
    briefing_s = 12.0
    candidate_float32, _rate = read_wav_tolerant(FIXTURES_DIR / truth["file"])
    folder = tmp_path / "2026-12-04T02-13-07_core-api-500s"
    writer = SessionWriter.create(folder, {"scenario": truth["scenario"], "seed": 0})
    scenario = load_scenario(truth["scenario"])
    writer.events.append(0.0, ev.SESSION_STARTED)
    writer.events.append(0.2, ev.INTERVIEWER_STARTED, intent="briefing", text=scenario.briefing_text)
    writer.events.append(briefing_s - 0.2, ev.INTERVIEWER_STOPPED)
    writer.events.append(briefing_s, ev.BRIEFING_ENDED)
    # While the interviewer briefs, the candidate's track is silent.
    writer.candidate.pad_to(briefing_s)
    writer.candidate.write_float32(candidate_float32)
    writer.interviewer.pad_to(briefing_s + len(candidate_float32) / 16_000)
    writer.events.append(briefing_s + len(candidate_float32) / 16_000, ev.SESSION_ENDED)
    writer.close()

    report = replay_path(folder, transcriber=transcriber, history=False, progress=False)

    assert report["source"]["kind"] == "session"
    assert report["t0_s"] == pytest.approx(briefing_s)
    assert report["mitigation"]["latency_s"] == pytest.approx(truth["mitigation_onset_s"], abs=ONSET_TOLERANCE_S)
    assert report["two_minute_verdict"] == truth["two_minute_verdict"]
    assert any(u["speaker"] == "interviewer" for u in report["utterances"])
    assert report["interviewer"] and report["interviewer"][0]["intent"] == "briefing"
    assert (folder / "report.json").is_file() and (folder / "report.md").is_file()


def test_fixture_files_match_truth():
    """The committed audio is the audio truth.json describes (16 kHz mono, same length)."""
    for name, truth in TRUTH.items():
        audio_float32, rate = read_wav_tolerant(FIXTURES_DIR / truth["file"])
        assert rate == 16_000, name
        assert len(audio_float32) / rate == pytest.approx(truth["duration_s"], abs=0.01), name
        if truth["mitigation_onset_s"] is not None:
            at = int(truth["mitigation_onset_s"] * rate)
            # Right after the onset there is speech; just before it, much less.
            after = np.sqrt(np.mean(audio_float32[at: at + 1600] ** 2))
            before = np.sqrt(np.mean(audio_float32[at - 1600: at - 80] ** 2))
            assert after > 3 * before, name
