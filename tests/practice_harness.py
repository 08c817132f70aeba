"""Run live practice sessions on G1's in-process VirtualDevicePair with the real models.

Shared by tests/test_practice_virtual.py and bench/bench_live_latency.py; also
a script, for the SIGKILL/SIGINT tests that need a separate process:

    python tests/practice_harness.py SESSIONS_DIR [--speed X]

runs a session in (a multiple of) real time with a question at 18 s and a
mitigation at 40 s, printing "ready" once the briefing has started.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speech_scenes import espeak_clip  # noqa: E402
from voice_interviewer.live import practice  # noqa: E402

QUESTION = "Which endpoints are failing, and in which regions?"
MITIGATION = "Okay. I will roll back the auth service to the previous version now."
# A candidate thinking aloud with no action: long enough for the monologue cut-in.
MONOLOGUE_SENTENCES = (
    "So I am looking at the dashboards and the error rate is about twelve percent",
    "and it started around a quarter to two in the morning which is interesting",
    "and I want to understand whether the latency is also up on the auth service",
    "because if the auth service is slow then the API would time out on its calls",
    "and I would also look at the logs for the failing requests to see the errors",
    "and I would look at the database metrics as well to see the connection counts",
    "and then I would compare the regions to see if one of them is worse than the other",
    "and I would check the traffic levels to see whether this is just a load problem",
    "and I would keep digging into the graphs until I understand what is going on here",
    "and after that I would read through the recent changes to the configuration files",
    "and I would want to know if anything changed in the load balancer settings recently",
    "and I would ask whether the certificates are all still valid in both of the regions",
    "and I would also check the status of the message queues and the background workers",
)


@functools.lru_cache(maxsize=1)
def scenario():
    from voice_interviewer.scenario import load_scenario

    return load_scenario(None)


@functools.lru_cache(maxsize=1)
def transcriber():
    return practice.live_transcriber(scenario())


@functools.lru_cache(maxsize=1)
def synth():
    from voice_interviewer.live import tts

    return tts.Synthesizer(None)


def make_parts(scenario_, options, log, seed, clock):
    return practice.load_parts(scenario_, options, log, seed, clock, transcriber=transcriber(), synth=synth())


def candidate(text: str):
    """Candidate speech in a voice unlike the interviewer's (espeak-ng, not Piper)."""
    return espeak_clip(text, "en-us", 165)


def run(pair, sessions_dir: Path, *, echo_cancel: bool = False, inline: bool = True, max_s: float = 300.0,
        mode: str = "exam", seed: int = 1, turn_settings=None):
    options = practice.PracticeOptions(sessions_dir=sessions_dir, seed=seed, echo_cancel=echo_cancel,
                                       mode=mode)
    settings = practice.LoopSettings(mode=mode, max_s=max_s, inline_processing=inline)
    return practice.run_session(scenario(), pair.input, pair.output, options, clock=practice.SessionClock(),
                                make_parts=make_parts, loop_settings=settings, turn_settings=turn_settings)


def main() -> int:
    from voice_interviewer.live.devices import VirtualDevicePair

    parser = argparse.ArgumentParser()
    parser.add_argument("sessions_dir", type=Path)
    parser.add_argument("--speed", type=float, default=1.0)
    args = parser.parse_args()
    pair = VirtualDevicePair(speed=args.speed, duration_s=120)
    pair.feed(candidate(QUESTION), at_s=18.0)
    pair.feed(candidate(MITIGATION), at_s=40.0)
    announced = []

    def on_read(t_s: float) -> None:
        if not announced and pair.output.is_playing:
            announced.append(t_s)
            print("ready", flush=True)

    pair.on_read = on_read
    run(pair, args.sessions_dir, inline=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
