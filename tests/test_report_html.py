"""report.html: self-contained, complete, and playable — checked as text and in headless Chromium."""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import require, require_module
from report_samples import sample_report, variant, write_candidate_wav
from voice_interviewer.report_html import write_html

RUBRIC_KEYS = ("bias_to_action", "signal_usage", "diagnostic_precision", "reversible_mitigation",
               "blameless_postmortem")


class _Collect(HTMLParser):
    """Every start tag with its attributes, in order."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def with_class(self, name: str) -> list[dict[str, str]]:
        return [a for _, a in self.tags if name in a.get("class", "").split()]


def _parse(path: Path) -> _Collect:
    parser = _Collect()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.fixture
def report():
    return sample_report()


def test_report_is_private_and_fetches_nothing(tmp_path, report):
    path = write_html(report, tmp_path / "out")
    text = path.read_text(encoding="utf-8")

    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    # No stylesheet, script, font or image from anywhere: the page must open offline.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "url(http" not in text and "@import" not in text
    tags = _parse(path)
    assert not [a for t, a in tags.tags if t in ("link", "img", "iframe") or (t == "script" and "src" in a)]
    assert text.count("<svg") >= 2  # the timeline and the rubric chart, inline


def test_every_utterance_is_a_transcript_line_with_its_start(tmp_path, report):
    tags = _parse(write_html(report, tmp_path))
    lines = tags.with_class("utterance")
    assert len(lines) == len(report["utterances"])
    starts = [float(a["data-start"]) for a in lines]
    assert starts == [u["words"][0]["start"] for u in report["utterances"]]
    # The interviewer's lines are there too, but are not counted as the candidate's utterances.
    assert len(tags.with_class("interviewer-line")) == len(report["interviewer"])


def test_five_scores_with_evidence_quotes(tmp_path, report):
    path = write_html(report, tmp_path)
    tags = _parse(path)
    scores = {a["data-dimension"]: int(a["data-score"]) for a in tags.with_class("score")}
    assert scores == {k: v["score"] for k, v in report["rubric"].items()}
    text = path.read_text(encoding="utf-8")
    for item in report["rubric"].values():
        assert item["evidence"][0]["quote"] in text


def test_audio_beside_the_report_is_linked_relatively(tmp_path, report):
    (tmp_path / "candidate.wav").write_bytes(b"RIFF")
    tags = _parse(write_html(report, tmp_path))
    audio = [a for t, a in tags.tags if t == "audio"]
    assert audio and audio[0]["src"] == "candidate.wav"
    # Each line also links to the recording with a media fragment, for a page opened without script.
    fragments = [a["href"] for a in tags.with_class("ts") if a["href"].startswith("candidate.wav#t=")]
    assert fragments[0] == "candidate.wav#t=0.000"  # the briefing line
    assert "candidate.wav#t=22.000" in fragments  # the first utterance's first word


def test_audio_elsewhere_gets_a_relative_path(tmp_path, report):
    recording = tmp_path / "recordings" / "my take.wav"
    recording.parent.mkdir()
    recording.write_bytes(b"RIFF")
    tags = _parse(write_html(report, tmp_path / "reports" / "take", audio_path=recording))
    audio = [a for t, a in tags.tags if t == "audio"]
    assert audio[0]["src"] == "../../recordings/my%20take.wav"


def test_session_folder_audio_is_found_from_the_source(tmp_path, report):
    session = tmp_path / "session"
    session.mkdir()
    (session / "candidate.wav").write_bytes(b"RIFF")
    r = variant(report, source={"path": str(session), "kind": "session", "name": "s"})
    tags = _parse(write_html(r, tmp_path / "elsewhere"))
    assert [a for t, a in tags.tags if t == "audio"][0]["src"] == "../session/candidate.wav"


def test_no_audio_still_renders_and_says_so(tmp_path, report):
    r = variant(report, source={"path": str(tmp_path / "gone.wav"), "kind": "audio", "name": "gone"})
    path = write_html(r, tmp_path / "out")
    assert "<audio" not in path.read_text(encoding="utf-8")
    assert "does not play" in path.read_text(encoding="utf-8")


def test_transcript_text_is_escaped(tmp_path, report):
    report["utterances"][0]["text"] = "<script>alert(1)</script> & roll back"
    text = write_html(report, tmp_path).read_text(encoding="utf-8")
    assert "<script>alert(1)" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; roll back" in text


def test_session_without_mitigation_or_delivery_renders(tmp_path, report):
    r = variant(report, mitigation={"latency_s": None, "onset_s": None, "whisper_onset_s": None,
                                    "quote": None, "kind": None},
                two_minute_verdict="none", clocks={"blast_radius": None, "change_check": None,
                                                   "communication": None}, delivery={})
    text = write_html(r, tmp_path).read_text(encoding="utf-8")
    assert "no concrete mitigation" in text
    assert text.count('class="clock"') == 4


def test_same_report_same_file(tmp_path, report):
    a = write_html(report, tmp_path / "a").read_text(encoding="utf-8")
    b = write_html(report, tmp_path / "b").read_text(encoding="utf-8")
    assert a == b


def test_session_interviewer_lines_are_not_listed_twice(tmp_path, report):
    # A session folder's report carries the interviewer as utterances and as actions.
    as_utterances = [{"start": a["t_s"], "end": a["t_s"] + 2, "speaker": "interviewer", "text": a["text"],
                      "words": [], "labels": [], "mitigation_kind": None, "concrete_mitigation": False}
                     for a in report["interviewer"]]
    r = variant(report, utterances=sorted(report["utterances"] + as_utterances, key=lambda u: u["start"]))
    tags = _parse(write_html(r, tmp_path))
    assert len(tags.with_class("interviewer-line")) == 0
    assert len(tags.with_class("utterance")) == len(r["utterances"])


# --- in a real browser --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """A session folder with real speech in candidate.wav and the report beside it."""
    require_module("piper")
    out = tmp_path_factory.mktemp("session")
    report = sample_report(path=str(out))
    write_candidate_wav(report, out / "candidate.wav")
    return report, write_html(report, out)


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    require(chromium is not None, "chromium is not installed (apt-get install chromium)")
    require_module("websocket")
    from cdp import Chromium

    with Chromium(chromium) as page:
        yield page


def _wait_for(page, expression: str, timeout_s: float = 10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = page.eval(expression)
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {expression}")


@pytest.mark.browser
def test_report_in_chromium(rendered, browser, tmp_path):
    from PIL import Image, ImageStat

    report, html_path = rendered
    browser.navigate(html_path.as_uri())

    # The DOM: the timeline chart and its moments, the five scores, one line per utterance.
    assert browser.eval("!!document.querySelector('#timeline svg')")
    moments = browser.eval("[...document.querySelectorAll('#timeline tr.moment')].map(e => e.className)")
    for kind in ("moment-t0", "moment-mark", "moment-mitigation", "moment-fact", "moment-complication",
                 "moment-interruption"):
        assert any(kind in m for m in moments), kind
    scores = browser.eval("Object.fromEntries([...document.querySelectorAll('.score')]"
                          ".map(e => [e.dataset.dimension, +e.dataset.score]))")
    assert scores == {k: report["rubric"][k]["score"] for k in RUBRIC_KEYS}
    assert browser.eval("document.querySelectorAll('li.utterance').length") == len(report["utterances"])

    # The recording beside the report loads from its relative path.
    duration_s = _wait_for(browser, "(a => a.readyState >= 1 && a.duration)(document.getElementById('recording'))")
    assert duration_s == pytest.approx(report["duration_s"], abs=2.0)

    # A screenshot that is not blank: a page of text and charts has many tones and real contrast.
    png = browser.screenshot_png(full_page=True)
    (tmp_path / "report.png").write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    grey = image.convert("L")
    assert image.width >= 1000 and image.height >= 800
    assert ImageStat.Stat(grey).stddev[0] > 10
    assert len(grey.getcolors(maxcolors=256 * 256) or range(9999)) > 50
    print(f"\nscreenshot {image.width}x{image.height} at {tmp_path / 'report.png'}")

    # Only the page and its own recording were loaded: nothing from a network.
    for url in browser.requested_urls():
        assert url.startswith(("file://", "data:")), url


@pytest.mark.browser
@pytest.mark.parametrize("which", [0, 3, -1])
def test_clicking_a_transcript_line_plays_from_its_start(rendered, browser, which):
    report, html_path = rendered
    if browser.eval("location.href") != html_path.as_uri():
        browser.navigate(html_path.as_uri())
    _wait_for(browser, "document.getElementById('recording').readyState >= 1")
    x, y, start = browser.eval(f"""(() => {{
        const lines = [...document.querySelectorAll('li.utterance')];
        const el = lines.at({which});
        el.scrollIntoView({{block: 'center'}});
        const r = el.querySelector('.text').getBoundingClientRect();
        return [r.x + 10, r.y + r.height / 2, +el.dataset.start];
    }})()""")
    browser.eval("document.getElementById('recording').pause()")

    browser.click(x, y)  # a real mouse click at the line, not a synthetic JS click()

    expected = report["utterances"][which]["words"][0]["start"]
    assert start == expected
    current = _wait_for(browser, f"(t => Math.abs(t - {expected}) < 0.5 && t)"
                                 "(document.getElementById('recording').currentTime)")
    assert current == pytest.approx(expected, abs=0.5)  # playback may have moved on a few frames
    assert browser.eval("document.querySelector('li.playing').dataset.start") == f"{expected:.3f}"


@pytest.mark.slow
@pytest.mark.browser
def test_replayed_fixture_report_plays_in_chromium(browser, tmp_path):
    """The whole way: a rendered rehearsal replayed by the real pipeline, its report.html opened."""
    from conftest import FIXTURES_DIR
    from voice_interviewer.replay import replay_path

    fixture = FIXTURES_DIR / "fast_rollback.wav"
    require(fixture.is_file(), f"{fixture} is missing (audio_fixtures/render.py makes it)")
    out = tmp_path / "report"
    report = replay_path(fixture, out_dir=out, history=False, progress=False)
    html_path = out / "report.html"
    browser.navigate(html_path.as_uri())

    assert browser.eval("document.querySelectorAll('li.utterance').length") == len(report["utterances"])
    assert browser.eval("document.querySelectorAll('.score').length") == 5
    _wait_for(browser, "document.getElementById('recording').readyState >= 1")
    concrete = [u for u in report["utterances"] if u["concrete_mitigation"]]
    assert concrete, "the fixture's rollback was not detected"
    x, y, start = browser.eval("""(() => {
        const el = document.querySelector('li.utterance.concrete');
        el.scrollIntoView({block: 'center'});
        const r = el.querySelector('.text').getBoundingClientRect();
        return [r.x + 10, r.y + r.height / 2, +el.dataset.start];
    })()""")
    browser.click(x, y)
    current = _wait_for(browser, f"(t => Math.abs(t - {start}) < 0.5 && t)"
                                 "(document.getElementById('recording').currentTime)")
    assert current == pytest.approx(concrete[0]["words"][0]["start"], abs=0.5)
