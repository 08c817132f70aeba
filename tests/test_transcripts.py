"""WebVTT and SubRip transcripts a user already has."""

from __future__ import annotations

import subprocess
import sys

import pytest

from voice_interviewer.errors import UserError
from voice_interviewer.transcripts import read_transcript
from voice_interviewer.utterances import CANDIDATE, INTERVIEWER


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


VTT_PLAIN = """WEBVTT
Kind: captions
Language: en

NOTE exported by a video-call tool

1
00:00:02.000 --> 00:00:06.000 align:start position:10%
Okay, which endpoints
and regions are affected?

00:01:05.500 --> 00:01:07.500
<i>Let's roll back</i> the auth &amp; token deploy.
"""


def test_vtt_cues_become_utterances_with_evenly_spread_words(tmp_path):
    utts = read_transcript(write(tmp_path, "call.vtt", VTT_PLAIN))
    assert [u.text for u in utts] == [
        "Okay, which endpoints and regions are affected?",
        "Let's roll back the auth & token deploy.",
    ]
    first, second = utts
    assert (first.start_s, first.end_s) == (2.0, 6.0)
    assert first.onset_s == 2.0
    assert len(first.words) == 7
    # 4 s over 7 words: each word gets 4/7 s, back to back.
    assert first.words[1].start_s == pytest.approx(2.0 + 4 / 7)
    assert first.words[-1].end_s == pytest.approx(6.0)
    assert second.start_s == pytest.approx(65.5) and second.words[0].word == "Let's"
    assert all(u.speaker == CANDIDATE for u in utts)


def test_srt_with_crlf_bom_and_short_hours(tmp_path):
    srt = ("\ufeff1\r\n00:00:05,000 --> 00:00:09,000\r\nWhat changed in the last 24 hours?\r\n\r\n"
           "2\r\n0:02:50,25 --> 0:02:54,500\r\n{\\an8}Turn off the token cache flag now.\r\n")
    utts = read_transcript(write(tmp_path, "call.srt", srt))
    assert [u.text for u in utts] == ["What changed in the last 24 hours?", "Turn off the token cache flag now."]
    assert utts[1].start_s == pytest.approx(170.25)  # ",25" is 250 ms
    assert utts[1].end_s == pytest.approx(174.5)


def test_srt_in_windows_1252_is_a_clear_error_not_a_guess(tmp_path):
    # Guessing Windows-1252 for any non-UTF-8 file accepted mis-encoded files as
    # mojibake (the new-user trial's "ÿþRoll back"); a clear error replaced it.
    srt = "1\n00:00:01,000 --> 00:00:02,000\nWe\u2019ll fail over now.\n"
    with pytest.raises(UserError, match=r"not UTF-8 text \(byte 34: 0x92\); save the transcript as UTF-8"):
        read_transcript(write(tmp_path, "old.srt", srt, encoding="cp1252"))


def test_vtt_voice_spans_name_speakers_and_split_a_shared_cue(tmp_path):
    vtt = """WEBVTT

00:00:00.000 --> 00:00:04.000
<v Interviewer>The core API is returning 500s.</v>

00:00:10.000 --> 00:00:14.000
<v.loud Sam Lee>Which regions?
<v Interviewer>All of them.

00:00:20.000 --> 00:00:23.000
<v Sam Lee>Roll back the deploy.
"""
    utts = read_transcript(write(tmp_path, "call.vtt", vtt))
    assert [(u.speaker_name, u.speaker, u.text) for u in utts] == [
        ("Interviewer", INTERVIEWER, "The core API is returning 500s."),
        ("Sam Lee", CANDIDATE, "Which regions?"),
        ("Interviewer", INTERVIEWER, "All of them."),
        ("Sam Lee", CANDIDATE, "Roll back the deploy."),
    ]
    # The shared cue's 4 s are split by word count: 2 words, then 3.
    assert utts[1].end_s == pytest.approx(10.0 + 4 * 2 / 5)
    assert utts[2].start_s == pytest.approx(utts[1].end_s)


def test_name_prefixes_pick_the_talkative_speaker_as_candidate(tmp_path):
    srt = """1
00:00:01,000 --> 00:00:03,000
Alex Kim: Your pager goes off at 2am.

2
00:00:05,000 --> 00:00:12,000
Jordan: Okay, first which endpoints are failing and since when, and what deployed?

3
00:00:13,000 --> 00:00:15,000
and is the database healthy

4
00:00:16,000 --> 00:00:17,000
Step 1: is not a speaker name.
"""
    utts = read_transcript(write(tmp_path, "call.srt", srt))
    assert [u.speaker_name for u in utts] == ["Alex Kim", "Jordan", "Jordan", "Jordan"]
    assert [u.speaker for u in utts] == [INTERVIEWER, CANDIDATE, CANDIDATE, CANDIDATE]
    assert utts[1].text.startswith("Okay, first")
    assert utts[3].text == "Step 1: is not a speaker name."

    named = read_transcript(utts_path := write(tmp_path, "again.srt", srt), candidate="Alex Kim")
    assert [u.speaker for u in named][:2] == [CANDIDATE, INTERVIEWER]
    with pytest.raises(UserError, match="no speaker named 'Nobody'"):
        read_transcript(utts_path, candidate="Nobody")


@pytest.mark.parametrize("name, content, message", [
    ("missing.vtt", None, "no such file"),
    ("empty.vtt", "", "empty file"),
    ("blank.srt", "\n\n  \n", "empty file"),
    ("noheader.vtt", "00:00:01.000 --> 00:00:02.000\nhello\n", "line 1 must start with WEBVTT"),
    ("header-only.vtt", "WEBVTT\n\nNOTE nothing here\n", "no cues found"),
    ("badtime.vtt", "WEBVTT\n\n00:00:01.000 --> soon\nhello\n", "line 3: bad cue timing"),
    ("backwards.srt", "1\n00:00:05,000 --> 00:00:02,000\nhello\n", "line 2: cue ends"),
    ("prose.srt", "This is a letter,\nnot subtitles.\n", "line 1: expected a cue number"),
    ("binary.srt", "\x00\x01\x02RIFF", "not a text file"),
    ("notes.txt", "hello", "expected .vtt or .srt"),
])
def test_malformed_transcripts_are_one_line_user_errors(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(UserError) as info:
        read_transcript(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_directory_is_not_a_transcript(tmp_path):
    folder = tmp_path / "call.vtt"
    folder.mkdir()
    with pytest.raises(UserError, match="is a directory"):
        read_transcript(folder)


def test_replay_cli_reports_a_malformed_transcript_in_one_line(tmp_path):
    path = write(tmp_path, "broken.vtt", "WEBVTT\n\n00:00:01.000 --> soon\nhello\n")
    result = subprocess.run([sys.executable, "-m", "voice_interviewer", "replay", str(path), "--out",
                             str(tmp_path / "out"), "--no-history"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "bad cue timing" in result.stderr
