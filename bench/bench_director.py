"""How long the director takes to decide, per event, on every scenario.

    /work/venv/bin/python bench/bench_director.py [--sessions N] [--seed S]

Plays N simulated sessions per built-in scenario: candidate turns drawn with a
seeded generator from the scenario's own phrases (fact topics, mitigation
examples, paging and other topics, postmortem phrases) plus filler, at random
times, with a tick every second between and during turns, as replay and
simulate drive it. The turns are labelled by the real analyser beforehand, so
the timings are the director's alone. In the same process, as baselines: the
analyser's label_text on the same turns (the step before the director on
every turn) and an empty call, for the timer's own overhead.

Target: under 5 ms per event (issue 3). Prints p50 / p95 / p99 / max in ms
and the ratios to the label_text baseline, twice: on the wall clock
(perf_counter), which includes the process being descheduled on a busy
machine, and in this thread's CPU time (thread_time), which does not.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from voice_interviewer.analysis import label_text
from voice_interviewer.director import Director
from voice_interviewer.events import EventLog
from voice_interviewer.scenario import load_all
from voice_interviewer.utterances import Utterance

TARGET_MS = 5.0
FILLER = ["okay", "um, let me think", "so what do we know", "what's going on?", "let's fix it", "I think it's the database"]


def session_turns(scenario, rng: random.Random) -> list[tuple[float, float, str]]:
    """(start_s, end_s, text) after a 10 s briefing, up to the scenario's time limit."""
    pool = list(FILLER)
    pool += [t for f in scenario.facts for t in f.topics[:3]]
    pool += [m.example for m in scenario.mitigations if m.example]
    pool += [p for ps in scenario.topics.values() for p in ps[:2]]
    pool += [p for ps in scenario.postmortem.elements.values() for p in ps[:2]]
    turns, t_s = [], 10.0
    while t_s < 10.0 + scenario.time_limit_s + 60.0:
        start_s = t_s + rng.uniform(1.0, 30.0)
        text = " ".join(rng.choice(pool) for _ in range(rng.randint(1, 3))) + rng.choice(["?", ".", ""])
        end_s = start_s + max(0.5, len(text.split()) / 2.5) * rng.choice([1.0, 1.0, 1.0, 6.0])  # some monologues
        turns.append((start_s, end_s, text))
        t_s = end_s
    return turns


def percentiles_ms(samples_s: list[float]) -> tuple[float, float, float, float]:
    """p50, p95, p99 and max, in ms."""
    ordered = sorted(samples_s)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3

    return statistics.median(ordered) * 1e3, at(0.95), at(0.99), ordered[-1] * 1e3


def run(sessions: int, seed: int, clock=time.perf_counter) -> dict[str, list[float]]:
    rng = random.Random(seed)
    timings: dict[str, list[float]] = {"on_turn": [], "on_tick": [], "label_text": [], "empty call": []}

    def empty(*_args):
        return None

    for scenario in load_all():
        for n in range(sessions):
            turns = session_turns(scenario, rng)
            labelled = []
            for start_s, end_s, text in turns:
                began = clock()
                result = label_text(text, scenario)
                timings["label_text"].append(clock() - began)
                u = Utterance(start_s, end_s, text, labels=result.labels, mitigation_kind=result.mitigation_kind,
                              concrete_mitigation=result.concrete)
                u.mitigation_id = result.mitigation_id
                labelled.append(u)

            director = Director(scenario, seed=n, log=EventLog())
            director.start(0.0, briefing_ended_s=10.0)
            t_s = 10.0
            for u in labelled:
                while t_s + 1.0 <= u.end_s and not director.done:
                    t_s += 1.0
                    speaking_for_s = max(0.0, t_s - u.start_s) if t_s >= u.start_s else 0.0
                    began = clock()
                    director.on_tick(t_s, speaking_for_s)
                    timings["on_tick"].append(clock() - began)
                    began = clock()
                    empty(t_s, speaking_for_s)
                    timings["empty call"].append(clock() - began)
                if director.done:
                    break
                began = clock()
                director.on_turn(u)
                timings["on_turn"].append(clock() - began)
    return timings


def report(title: str, timings: dict[str, list[float]]) -> float:
    """Print one table; return the director's p99 in ms."""
    base_p50, base_p95, _, _ = percentiles_ms(timings["label_text"])
    print(title)
    print(f"{'event':<12} {'n':>8} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} {'max ms':>9} "
          f"{'p50/label':>10} {'p95/label':>10}")
    for name in ("on_turn", "on_tick", "label_text", "empty call"):
        p50, p95, p99, worst = percentiles_ms(timings[name])
        print(f"{name:<12} {len(timings[name]):>8} {p50:>9.4f} {p95:>9.4f} {p99:>9.4f} {worst:>9.3f} "
              f"{p50 / base_p50:>10.2f} {p95 / base_p95:>10.2f}")
    p99_ms = max(percentiles_ms(timings[n])[2] for n in ("on_turn", "on_tick"))
    max_ms = max(percentiles_ms(timings[n])[3] for n in ("on_turn", "on_tick"))
    verdict = "under" if max_ms < TARGET_MS else ("p99 under" if p99_ms < TARGET_MS else "OVER")
    print(f"director: p99 {p99_ms:.3f} ms, max {max_ms:.3f} ms -> {verdict} the {TARGET_MS:g} ms target\n")
    return p99_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30, help="simulated sessions per scenario (default 30)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n_scenarios = len(load_all())

    for name, clock in (("wall clock", time.perf_counter), ("thread CPU time", time.thread_time)):
        started = time.perf_counter()
        timings = run(args.sessions, args.seed, clock)
        wall_s = time.perf_counter() - started
        report(f"director decision time ({name}), {args.sessions} sessions x {n_scenarios} scenarios, "
               f"{wall_s:.1f} s", timings)


if __name__ == "__main__":
    main()
