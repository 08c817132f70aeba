"""Two outside checks of the concrete-mitigation detector.

**labelled_utterances_blind.tsv** (120 utterances, 62 concrete) was written by a
second author from issue 2's definition alone, before reading analysis.py or
the other labelled sets, and the labels were frozen before the detector was
first run on it. It spreads over incident types the seed scenario does not
cover (TLS certs, CDN/WAF pushes, DNS, payment providers, queues, disks,
memory leaks) and includes STT-garbled forms ("train eu west one", "role
back", "cash" for cache, numbers as words).

Measured on first run, *before any tuning*: precision 1.000, recall 0.887 (55
of 62, 7 misses), kind accuracy 1.000 (55 of 55), 120 lines. **It is no longer
blind**: the detector was then tuned on its 7 misses (restart slang, separable
particles such as "put X back" / "fail X over" / "move X over to", a wider
verb-object window, clean-up verbs, "running <command>"), after which it
measures 1.000 / 1.000 / 1.000. Treat it as a second tuned set; its bars stay
at the pre-tuning level so it still catches a regression.

**labelled_utterances_holdout2.tsv** (60 utterances, 33 concrete) is the
honest replacement: written by the engineer who did that tuning, *before*
changing the code, over other incident types (disk full, memory leak, queue
backlog, Kubernetes, CDN, auth, search index), and not tuned on. Caveat: its
author had read analysis.py, so it is not blind in the first set's sense, and
a few of its clean-up lines ("truncate", "clean out") use verbs the blind
set's misses also called for. Measured before the tuning: precision 0.962,
recall 0.758 (25 of 33), kind accuracy 1.000; after it: precision 0.967,
recall 0.879 (29 of 33), kind accuracy 1.000. Its bars sit below the after
figure with room for a miss or two; its labels column is "-" (only the
concrete/kind columns were labelled).
"""

from __future__ import annotations

from voice_interviewer.analysis import label_text

from test_analysis import detector_figures, print_figures, read_set

BLIND_SET = "labelled_utterances_blind.tsv"
# Measured 1.000 with no false positive; one or two stray hits on 58 hard
# negatives would still pass, a systematic leak (questions, negations) would not.
PRECISION_BAR = 0.95
# Measured 0.887 (7 misses of 62); allows about two more misses.
RECALL_BAR = 0.85
# Measured 1.000 on the 55 caught; allows about three wrong kinds.
KIND_BAR = 0.93


def detector_misses(rows) -> list[str]:
    """One line per disagreement with the blind labels: missed, false alarm, or wrong kind."""
    misses = []
    for text, concrete, kind, _ in rows:
        got = label_text(text)
        if concrete and not got.concrete:
            misses.append(f"missed ({kind}): {text!r}  reasons={got.reasons}")
        elif got.concrete and not concrete:
            misses.append(f"false alarm ({got.mitigation_kind}): {text!r}")
        elif concrete and got.mitigation_kind != kind:
            misses.append(f"wrong kind (want {kind}, got {got.mitigation_kind}): {text!r}")
    return misses


def test_blind_set_is_balanced_and_well_formed():
    rows = read_set(BLIND_SET)
    positives = sum(concrete for _, concrete, _, _ in rows)
    assert len(rows) == 120
    assert 50 <= positives <= 70, positives
    assert all((kind is None) == (not concrete) for _, concrete, kind, _ in rows)


def test_detector_on_the_blind_set():
    rows = read_set(BLIND_SET)
    figures = detector_figures(rows)
    print_figures("blind set", figures)
    for line in detector_misses(rows):
        print("  " + line)
    assert figures["precision"] >= PRECISION_BAR
    assert figures["recall"] >= RECALL_BAR
    assert figures["kind_accuracy"] >= KIND_BAR


HOLDOUT2_SET = "labelled_utterances_holdout2.tsv"
# Measured 0.967 (1 false alarm of 30 hits); one more stray hit still passes.
HOLDOUT2_PRECISION_BAR = 0.93
# Measured 0.879 (29 of 33); allows about two more misses.
HOLDOUT2_RECALL_BAR = 0.82
# Measured 1.000 on the 29 caught; allows about two wrong kinds.
HOLDOUT2_KIND_BAR = 0.93


def test_holdout2_set_is_balanced_and_well_formed():
    rows = read_set(HOLDOUT2_SET)
    positives = sum(concrete for _, concrete, _, _ in rows)
    assert len(rows) == 60
    assert 25 <= positives <= 35, positives
    assert all((kind is None) == (not concrete) for _, concrete, kind, _ in rows)


def test_detector_on_the_holdout2_set():
    rows = read_set(HOLDOUT2_SET)
    figures = detector_figures(rows)
    print_figures("holdout2 set (never tuned on)", figures)
    for line in detector_misses(rows):
        print("  " + line)
    assert figures["precision"] >= HOLDOUT2_PRECISION_BAR
    assert figures["recall"] >= HOLDOUT2_RECALL_BAR
    assert figures["kind_accuracy"] >= HOLDOUT2_KIND_BAR
