"""A blind check of the concrete-mitigation detector.

tests/data/labelled_utterances_blind.tsv (120 utterances, 62 concrete) was
written by a second author from issue 2's definition alone, before reading
analysis.py or the other labelled sets, and the labels were frozen before the
detector was first run on it. It spreads over incident types the seed scenario
does not cover (TLS certs, CDN/WAF pushes, DNS, payment providers, queues,
disks, memory leaks) and includes STT-garbled forms ("train eu west one",
"role back", "cash" for cache, numbers as words).

Measured on first run: precision 1.000, recall 0.887 (55 of 62), kind accuracy
1.000 (55 of 55). The bars below sit under those figures so that the test
catches a regression, not the next single miss; they were not tuned to pass
exactly. The misses it prints are the known gaps (see the lead's report).
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
