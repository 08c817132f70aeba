"""Latency of a spoken reply: end of the candidate's speech to the interviewer's first sample.

    /work/venv/bin/python bench/bench_live_latency.py [--turns 32] [--whisper-model NAME]

Runs one live practice session on the in-process VirtualDevicePair paced at
real time (speed 1.0), with the real models (Silero VAD, the bundled tiny.en,
the director, the scripted voice, Piper with every scripted line
precomputed) and the threaded loop, exactly as ``practice`` runs it. The
candidate (espeak-ng speech) asks a question; as soon as the interviewer's
reply has started, the benchmark stops it (as a barge-in would) and the
candidate asks the next one, so N turns take about N x 5 s.

Stages of each turn, wall clock:

    endpoint wait     end of speech -> end-of-turn decision, on the audio clock (the silence rule)
    transcription     how far the loop was behind the audio at the decision: the partial
                      transcript made while the silence ran, not hidden by it; plus any
                      transcription after the decision (0 when the partial is reused)
    decision          labelling + director.on_turn
    synthesis         voice.say + Piper or the cache lookup, first sentence
    output buffer     first play() -> the first reply frame seen played
    processing        decision -> first play() (target <= 150 ms p50)
    total             end of speech -> first reply sample (target <= 800 ms p50 for questions)

The baseline row is the silence rule alone (TurnSettings.complete_ms), what a
zero-cost pipeline would give; the ratio column is each p50 against it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

QUESTIONS = [
    "Which endpoints are failing?",
    "What changed in the last day?",
    "What do the error logs say?",
    "Is the database healthy?",
    "Is there a feature flag?",
    "Which regions are affected?",
    "Is it getting worse?",
    "What does the latency look like?",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=32)
    parser.add_argument("--whisper-model", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    import practice_harness as harness
    from voice_interviewer.live import practice
    from voice_interviewer.live.devices import VirtualDevicePair
    from voice_interviewer.live.turns import TurnSettings

    scenario = harness.scenario()
    synth = harness.synth()
    started = time.perf_counter()
    synth.precompute(practice.scripted_lines(scenario), background=False)
    print(f"precomputed the scripted lines in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    transcriber = practice.live_transcriber(scenario, args.whisper_model)
    transcriber.transcribe(np.zeros(16_000, np.float32))  # load the model outside the measurement
    clips = [harness.candidate(q) for q in QUESTIONS]

    pair = VirtualDevicePair(speed=1.0)
    state = {"asked": 0, "waiting_reply": False, "next_at": None}

    def on_read(t_s: float) -> None:
        playing = pair.output.is_playing
        if playing and (state["waiting_reply"] or state["asked"] == 0):
            pair.output.stop_playback()  # the reply started: that is all we measure
            state["waiting_reply"] = False
            state["next_at"] = t_s + 0.8
        if state["next_at"] is not None and t_s >= state["next_at"] and not playing:
            if state["asked"] >= args.turns:
                pair.close()
                return
            clip = clips[state["asked"] % len(clips)]
            pair.feed(clip, at_s=t_s)
            state["asked"] += 1
            state["waiting_reply"] = True
            state["next_at"] = None

    pair.on_read = on_read

    def make_parts(scenario_, options, log, seed, clock):
        return practice.load_parts(scenario_, options, log, seed, clock, transcriber=transcriber, synth=synth)

    with tempfile.TemporaryDirectory() as tmp:
        options = practice.PracticeOptions(sessions_dir=Path(tmp), seed=1, echo_cancel=True, mode="exam")
        settings = practice.LoopSettings(mode="exam", max_s=args.turns * 20.0, inline_processing=False)
        from voice_interviewer.live.screen import Screen

        result = practice.run_session(scenario, pair.input, pair.output, options, clock=practice.SessionClock(),
                                      make_parts=make_parts, loop_settings=settings,
                                      screen=Screen(mode="exam", stream=open("/dev/null", "w"), force_plain=True))
    report(result, pair, TurnSettings())
    return 0


STAGES = ("endpoint wait", "transcription", "decision", "synthesis", "output buffer", "processing", "total")


def stages_ms(s, wall0: float) -> dict[str, float]:
    """One turn's stages in ms; they add up: total = endpoint + transcription lag + processing + buffer."""
    lag_ms = max(0.0, (s.decided_wall_s - (wall0 + s.decided_s)) * 1000)
    return {
        "endpoint wait": (s.decided_s - s.speech_end_s) * 1000,
        "transcription": lag_ms + s.transcribe_ms,
        "decision": s.label_ms + s.decide_ms,
        "synthesis": s.voice_ms + s.synth_ms,
        "output buffer": (s.first_audio_wall_s - s.play_called_wall_s) * 1000,
        "processing": (s.play_called_wall_s - s.decided_wall_s) * 1000,
        "total": (s.first_audio_wall_s - (wall0 + s.speech_end_s)) * 1000,
    }


def report(result, pair, turn_settings) -> None:
    wall0 = pair._wall_t0
    turns = [(s.ending, stages_ms(s, wall0)) for s in result.turn_stats
             if s.first_audio_wall_s is not None and s.play_called_wall_s is not None]
    baseline = turn_settings.complete_ms
    for title, subset in (("all turns", turns), ("turns ending in a question", [t for t in turns if t[0] == "question"])):
        print(f"\nlive reply latency, {title}: {len(subset)} turns, virtual devices at real time, this machine")
        if not subset:
            continue
        print(f"{'stage':<16}{'p50 ms':>9}{'p95 ms':>9}{'x baseline':>12}")
        print(f"{'baseline':<16}{baseline:>9.0f}{baseline:>9.0f}{1.0:>12.2f}   silence rule alone (complete_ms)")
        for name in STAGES:
            values = [stages[name] for _, stages in subset]
            p50, p95 = np.percentile(values, 50), np.percentile(values, 95)
            print(f"{name:<16}{p50:>9.0f}{p95:>9.0f}{p50 / baseline:>12.2f}")
    endings = {}
    for ending, _ in turns:
        endings[ending] = endings.get(ending, 0) + 1
    print(f"\nendings decided: {endings}")
    questions = [stages for ending, stages in turns if ending == "question"]
    if turns:
        print(f"targets: processing p50 <= 150 ms: {np.percentile([t['processing'] for _, t in turns], 50):.0f} ms"
              + (f"; total p50 <= 800 ms for questions: {np.percentile([t['total'] for t in questions], 50):.0f} ms"
                 if questions else ""))


if __name__ == "__main__":
    sys.exit(main())
