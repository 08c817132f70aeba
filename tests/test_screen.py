"""The practice screen: hints in coached mode only, plain lines off a terminal, a rich view on one."""

from __future__ import annotations

import io

from voice_interviewer import events as ev
from voice_interviewer.live.screen import Screen, ScreenState, coaching_hints


def test_hint_when_two_minutes_is_close():
    state = ScreenState(mark_s=120.0, t0_s=10.0, now_s=10.0 + 95.0)
    assert any("2:00 is close" in h for h in coaching_hints(state))
    state.mitigation_s = 60.0
    assert not any("2:00" in h for h in coaching_hints(state))


def test_hint_after_four_questions_in_a_row():
    screen = Screen(mode="coached", stream=io.StringIO(), force_plain=True)
    for n in range(4):
        screen.event(ev.Event(20.0 + n, ev.TRANSCRIPT_FINAL, {"labels": ["diagnostic_question"], "start": 20.0 + n}))
    assert any("4 questions in a row" in h for h in coaching_hints(screen.state))
    screen.event(ev.Event(30.0, ev.TRANSCRIPT_FINAL, {"labels": [], "concrete_mitigation": True, "start": 30.0}))
    assert screen.state.question_streak == 0 and screen.state.mitigation_s == 30.0


def test_plain_lines_and_exam_mode_keeps_hints_back():
    for mode, hinted in (("coached", True), ("exam", False)):
        out = io.StringIO()
        screen = Screen(mode=mode, mark_s=120.0, stream=out)  # StringIO is not a TTY: plain lines
        screen.start()
        screen.event(ev.Event(15.0, ev.BRIEFING_ENDED, {}))
        screen.interviewer_line(0.0, "What do you do?")
        screen.candidate_text(16.0, "Which endpoints are failing?", final=True)
        screen.tick(15.0 + 100.0)
        screen.stop()
        text = out.getvalue()
        assert "interviewer: What do you do?" in text and "you: Which endpoints are failing?" in text
        assert ("hint:" in text) is hinted


def test_rich_view_renders_the_clock():
    from rich.console import Console

    screen = Screen(mode="coached", mark_s=120.0, title="Core API", stream=io.StringIO(), force_plain=True)
    screen.event(ev.Event(15.0, ev.BRIEFING_ENDED, {}))
    screen.candidate_text(20.0, "let me check the dash", final=False)
    screen.tick(15.0 + 95.0)
    console = Console(file=io.StringIO(), width=100, force_terminal=True)
    console.print(screen._render())
    shown = console.file.getvalue()
    assert "mitigation clock 1:35" in shown and "2:00 is close" in shown and "let me check the dash" in shown
