"""The concrete-mitigation detector and the other utterance labels.

The labelled sets in tests/data were written before the detector was tuned:
labelled_utterances.tsv is the set the rules were tuned on (assert >= 0.95),
labelled_utterances_heldout.tsv was written at the same time and never tuned
on (assert a looser >= 0.85, as an honest check for overfitting; it is still
the same author's phrasing, so treat it as a floor on optimism, not proof).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from voice_interviewer import labels as lab
from voice_interviewer.analysis import first_of, label_text, label_utterances, mentions, normalise
from voice_interviewer.scenario import load_scenario
from voice_interviewer.utterances import INTERVIEWER

from utterance_helpers import utt

DATA = Path(__file__).parent / "data"
MAIN_BAR = 0.95
HELDOUT_BAR = 0.85
KIND_BAR = 0.9
# Secondary labels drive clocks and rubric points, not the headline number.
LABEL_BAR = 0.8


def read_set(name: str) -> list[tuple[str, bool, str | None, set[str]]]:
    rows = []
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t") == ["text", "concrete", "kind", "labels"]
    for number, line in enumerate(lines[1:], 2):
        text, concrete, kind, labels = line.split("\t")
        assert concrete in ("0", "1"), f"{name}:{number}"
        assert kind == "-" or kind in lab.MITIGATION_KINDS, f"{name}:{number}: kind {kind!r}"
        label_set = set() if labels == "-" else set(labels.split(","))
        assert label_set <= set(lab.LABELS), f"{name}:{number}: labels {labels!r}"
        rows.append((text, concrete == "1", None if kind == "-" else kind, label_set))
    return rows


def detector_figures(rows) -> dict[str, float]:
    tp = fp = fn = kinds_right = 0
    for text, concrete, kind, _ in rows:
        got = label_text(text)
        tp += got.concrete and concrete
        fp += got.concrete and not concrete
        fn += concrete and not got.concrete
        kinds_right += got.concrete and concrete and got.mitigation_kind == kind
    return {"n": len(rows), "positives": sum(r[1] for r in rows), "tp": tp, "fp": fp, "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / (tp + fn) if tp + fn else 1.0,
            "kind_accuracy": kinds_right / tp if tp else 0.0}


def print_figures(title: str, f: dict[str, float]) -> None:
    print(f"\n{title}: {f['n']} utterances, {f['positives']} concrete; precision {f['precision']:.3f} "
          f"recall {f['recall']:.3f} (tp {f['tp']}, fp {f['fp']}, fn {f['fn']}); kind accuracy {f['kind_accuracy']:.3f}")


def test_labelled_sets_are_big_enough_and_have_hard_negatives():
    main, heldout = read_set("labelled_utterances.tsv"), read_set("labelled_utterances_heldout.tsv")
    assert len(main) >= 200 and len(heldout) >= 40
    negatives = [r for r in main if not r[1]]
    assert len(negatives) >= 100
    assert sum(1 for r in negatives if "?" in r[0] or r[0].split()[0].lower() in ("should", "can", "could", "is", "do", "would", "what")) >= 15
    assert sum(1 for r in negatives if any(w in r[0].lower() for w in ("not ", "n't", "won't", "hold off", "never"))) >= 10


def test_concrete_mitigation_precision_and_recall_on_the_labelled_set():
    f = detector_figures(read_set("labelled_utterances.tsv"))
    print_figures("labelled_utterances.tsv (tuned on)", f)
    assert f["precision"] >= MAIN_BAR
    assert f["recall"] >= MAIN_BAR
    assert f["kind_accuracy"] >= KIND_BAR


def test_concrete_mitigation_on_the_held_out_set():
    f = detector_figures(read_set("labelled_utterances_heldout.tsv"))
    print_figures("labelled_utterances_heldout.tsv (never tuned on; bar 0.85)", f)
    assert f["precision"] >= HELDOUT_BAR
    assert f["recall"] >= HELDOUT_BAR


def test_other_labels_on_the_labelled_set():
    rows = read_set("labelled_utterances.tsv")
    print()
    for label in lab.LABELS:
        if label == lab.CONCRETE_MITIGATION:
            continue
        tp = fp = fn = 0
        for text, _, _, expected in rows:
            got = label in label_text(text).labels
            tp += got and label in expected
            fp += got and label not in expected
            fn += label in expected and not got
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        print(f"{label:20s} support {tp + fn:3d}  precision {precision:.2f}  recall {recall:.2f}")
        assert tp + fn >= 4, f"too few {label} examples to say anything"
        assert precision >= LABEL_BAR and recall >= LABEL_BAR, label


# Real tiny.en output for the audio fixtures' mitigation lines: what broke, or nearly did.
@pytest.mark.parametrize("text, kind", [
    ("Rollback, the auth service deployed out, and the previous version.", "rollback"),  # comma split the verb from its target
    ("Roll back the auth service deployed right away to the previous version.", "rollback"),
    ("I'm rolling back the auth service to version 2.3.0 right now.", "rollback"),
    ("Turn off the token cache feature flag now, it's instant and reversible.", "flag_off"),
    ("Let's roll back the auth service deploy to the previous version now,", "rollback"),
])
def test_real_tiny_en_mitigation_lines_are_concrete(text, kind):
    got = label_text(text)
    assert got.concrete, got.reasons
    assert got.mitigation_kind == kind


@pytest.mark.parametrize("text", [
    "So the auth service was deployed just before this started. Should we maybe roll back?",
    "The auth release looks suspicious, but I'm not rolling back yet. I want more signal first.",
    "Next I want the database connection numbers to confirm the pool drains once the flag is off.",
    "I'd like to understand more about how that cache works before I change anything.",
])
def test_real_tiny_en_non_mitigations_are_not_concrete(text):
    assert not label_text(text).concrete


def test_reasons_say_why_a_mention_is_not_concrete():
    assert "negated" in label_text("I'm not rolling back auth yet").reasons[0]
    assert "question" in label_text("should we roll back the auth deploy").reasons[0]
    assert "past" in label_text("we rolled back auth at 2:10").reasons[0]
    assert "no target" in label_text("let's roll back").reasons[0]
    assert "conditional" in label_text("if it's the deploy we could roll back auth").reasons[0]


def test_a_proposal_sets_a_kind_but_a_negation_or_report_does_not():
    assert label_text("should we roll back?").mitigation_kind == "rollback"
    assert label_text("not rolling back auth yet").mitigation_kind is None
    assert label_text("the rollback finished").mitigation_kind is None
    assert label_text("is the rollback done").mitigation_kind is None


def test_scenario_match_fills_the_mitigation_id():
    scenario = load_scenario("core-api-500s")
    assert label_text("turn off the token cache flag", scenario).mitigation_id == "flag-off-token-cache"
    assert label_text("roll back auth to v2.3.0", scenario).mitigation_id == "rollback-auth"
    assert label_text("drain eu-west-1", scenario).mitigation_id == "failover-region"
    assert label_text("roll back the web frontend", scenario).mitigation_id is None
    assert label_text("roll back the web frontend", scenario).concrete


def test_a_pronoun_target_comes_from_the_previous_utterance():
    lines = [utt(10.0, "v2.3.1 put the new token cache behind a flag called auth-token-cache.", INTERVIEWER),
             utt(14.0, "Okay, turn it off.")]
    label_utterances(lines, load_scenario("core-api-500s"))
    assert lines[1].concrete_mitigation and lines[1].mitigation_kind == "flag_off"
    assert lines[0].labels == []  # only candidate speech is labelled
    assert not label_text("Okay, turn it off.").concrete  # alone it names nothing


def test_yes_do_it_after_a_proposal_commits():
    got = label_text("Should we roll back auth? Yes, let's do it.")
    assert got.concrete and got.mitigation_kind == "rollback"
    assert not label_text("Should we roll back auth? Let me check the logs first.").concrete


def test_first_of_skips_speech_before_t0():
    lines = [utt(1.0, "roll back auth"), utt(20.0, "which regions are affected?"), utt(30.0, "drain eu-west-1")]
    label_utterances(lines)
    assert first_of(lines, lab.CONCRETE_MITIGATION, t0_s=10.0).start_s == 30.0
    assert first_of(lines, lab.BLAST_RADIUS, t0_s=10.0).start_s == 20.0
    assert first_of(lines, lab.BLAME, t0_s=0.0) is None


@pytest.mark.parametrize("text, phrase", [
    ("failover to EU West 1", "eu-west-1"),
    ("about twelve percent of requests", "12%"),
    ("roll back to version two point three point one", "v2.3.1"),
    ("Roll-back the auth service", "roll back"),
    ("it went out at one forty", "1:40"),
    ("what's affected", "what's affected"),
    ("is it the token cash", "token cache"),
])
def test_mentions_normalises_both_sides(text, phrase):
    assert mentions(text, [phrase])


@pytest.mark.parametrize("text, phrase", [
    ("the account pages are slow", "page"),  # word boundary, no stemming
    ("v2.3.10 went out", "v2.3.1"),
    ("deployment", "deploy"),
])
def test_mentions_matches_whole_words_only(text, phrase):
    assert not mentions(text, [phrase])


def test_normalise_versions_and_contractions():
    assert normalise("Let's roll back v 2.3.1, we won't wait") == "let us roll back v2.3.1 we will not wait"
    assert normalise("IP 10.2.3.4 and api.example.com") == "ip 10.2.3.4 and api.example.com"


def _scenario_examples():
    from voice_interviewer.scenario import load_all

    return [(s, m) for s in load_all() for m in s.mitigations if getattr(m, "example", None)]


@pytest.mark.parametrize("scenario, mitigation", _scenario_examples(),
                         ids=lambda x: getattr(x, "id", ""))
def test_every_scenario_mitigation_example_is_concrete_and_matched(scenario, mitigation):
    # Phrasing written by the scenario authors, not by the detector's author;
    # 50 of 52 passed before "purge" and "send someone on site" were added.
    got = label_text(mitigation.example, scenario)
    assert got.concrete, got.reasons
    assert got.mitigation_id == mitigation.id, (got.mitigation_kind, got.reasons)


def test_kinds_and_labels_are_always_from_the_vocabulary():
    rows = read_set("labelled_utterances.tsv") + read_set("labelled_utterances_heldout.tsv")
    for text, *_ in rows:
        got = label_text(text)
        assert set(got.mentioned_kinds) <= set(lab.MITIGATION_KINDS), text
        assert got.mitigation_kind is None or got.mitigation_kind in lab.MITIGATION_KINDS, text
        assert set(got.labels) <= set(lab.LABELS), text
        assert got.concrete == (lab.CONCRETE_MITIGATION in got.labels), text


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyz0123456789 .,?!'-:%")), max_size=80)
       | st.lists(st.sampled_from(["roll", "back", "the", "auth", "not", "if", "?", "let's", "turn", "off", "flag",
                                   "drain", "eu-west-1", "should", "we", ",", "and", "yes", "do", "it", "v2.3.1",
                                   "kill", "pause", "a", "of", "restart", "yet", "rolled"]), max_size=14).map(" ".join))
def test_label_text_never_raises_and_stays_in_the_vocabulary(text):
    got = label_text(text)
    assert set(got.mentioned_kinds) <= set(lab.MITIGATION_KINDS)
    assert got.concrete == (lab.CONCRETE_MITIGATION in got.labels)
    assert not got.concrete or got.target


# tiny.en often ends a question on "," or "." instead of "?": word order decides.
@pytest.mark.parametrize("text, label", [
    ("Okay, 12% of traffic failing, which users and which regions are affected,", lab.BLAST_RADIUS),  # real tiny.en
    ("which users and which regions are affected.", lab.BLAST_RADIUS),
    ("right, how many customers are seeing errors,", lab.BLAST_RADIUS),
    ("ok so is it all regions or just eu west 1.", lab.BLAST_RADIUS),
    ("errors are up, did anything change in the last hour.", lab.CHANGE_CHECK),
    ("ok, what changed in the last 24 hours,", lab.CHANGE_CHECK),
    ("do we know if there was a deploy before this started.", lab.CHANGE_CHECK),
    ("alright, what does the auth p99 look like.", lab.SIGNAL_CHECK),
    ("so the pool is full, can you tell me the error rate for auth,", lab.SIGNAL_CHECK),
    ("ok, how is the auth database doing.", lab.SIGNAL_CHECK),
    ("hmm, when did it start.", lab.DIAGNOSTIC_QUESTION),
    ("support noticed at two, do we know how long tokens live.", lab.DIAGNOSTIC_QUESTION),
])
def test_a_question_without_a_question_mark_still_gets_its_label(text, label):
    got = label_text(text)
    assert label in got.labels, got.labels
    assert not got.concrete


@pytest.mark.parametrize("text", [
    "Right, the connection pool is full, which fits the new release.",  # a relative "which", not a question
    "the pool is full, which means the release is bad",
    "the errors started when the deploy went out",
    "ok, do it, roll back the auth deploy",
])
def test_a_relative_clause_or_an_order_is_not_a_question(text):
    got = label_text(text)
    assert lab.DIAGNOSTIC_QUESTION not in got.labels and lab.BLAST_RADIUS not in got.labels, got.labels


@pytest.mark.parametrize("text", [
    "ok the errors are up, should we roll back auth",
    "the errors are up, can we fail over to us east 1",
    "the pool is full, do we restart the auth pods",
])
def test_a_mitigation_asked_in_a_later_comma_piece_is_not_concrete(text):
    got = label_text(text)
    assert not got.concrete and "question" in got.reasons[0], got.reasons


def test_asks_question_separates_questions_from_statements_of_intent():
    from voice_interviewer.analysis import asks_question

    assert not asks_question("Then I'll watch the error rate on the dashboard")
    assert "signal_check" in label_text("Then I'll watch the error rate on the dashboard").labels
    assert asks_question("which regions are affected,")
    assert asks_question("okay, 12% failing, which users are affected.")
    assert not asks_question("the pool is full, which fits the release")


@pytest.mark.parametrize("text", [
    "so that's my prime suspect",
    "my main suspect is the auth deploy",
    "I bet it's the cache",
    "smells like the deploy",
    "I'd put money on the token cache",
    "the auth release looks suspicious",
    "it has to be the new flag",
])
def test_hypotheses_said_as_a_suspect_or_a_bet(text):
    assert lab.HYPOTHESIS in label_text(text).labels


# Generalised from the blind set's misses: same rule, other words (the blind sentences are in its own test).
@pytest.mark.parametrize("text, kind", [
    ("kick the ingest workers on node 4", "restart"),
    ("respawn the crashed workers on the eu cluster", "restart"),
    ("set the request timeout back to 30 seconds", "config_revert"),
    ("let's put the cache ttl back to five minutes", "config_revert"),
    ("roll the payments service back to v4.1", "rollback"),
    ("fail the orders database over to the replica", "failover"),
    ("I'm going to shift checkout traffic over to us east", "failover"),
    ("move the api over to the standby region", "failover"),
    ("spin two more api pods up in eu west 1", "scale_out"),
    ("we should triple the number of checkout workers", "scale_out"),
    ("clean up the old heap dumps on api 3", "other"),
    ("let's free up disk on db 2", "other"),
    ("let's run kubectl rollout undo on the payments deployment", "rollback"),
    ("I'm executing the failover runbook for the eu region now", "failover"),
])
def test_generalised_mitigation_patterns_are_concrete(text, kind):
    got = label_text(text)
    assert got.concrete, got.reasons
    assert got.mitigation_kind == kind, got.reasons


@pytest.mark.parametrize("text", [
    "we are running low on disk on db 2",
    "I ran rollout undo on checkout an hour ago",
    "I'm not running rollout undo on checkout yet",
    "set the flag back on once we're stable",
    "requests fail over and over on the login page",
    "I'd rather not delete any logs on the primary",
    "kick off the discussion with the payments team",
])
def test_generalised_patterns_do_not_fire_on_reports_negations_or_lookalikes(text):
    assert not label_text(text).concrete, label_text(text).reasons
