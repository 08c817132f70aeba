"""Hand-built utterances for the analyser, rubric and report tests (no audio needed)."""

from __future__ import annotations

from voice_interviewer.utterances import CANDIDATE, Utterance, Word

WORDS_PER_S = 2.5


def utt(t_s: float, text: str, speaker: str = CANDIDATE) -> Utterance:
    """An utterance starting at ``t_s`` whose words are spread at a speaking pace."""
    words, t = [], t_s
    for w in text.split():
        words.append(Word(round(t, 3), round(t + 0.3, 3), w))
        t += 1.0 / WORDS_PER_S
    return Utterance(start_s=t_s, end_s=round(t, 3), text=text, words=words, speaker=speaker)


def session(lines: list[tuple[float, str]] | list[tuple[float, str, str]]) -> list[Utterance]:
    out = []
    for line in lines:
        t_s, text = line[0], line[1]
        speaker = line[2] if len(line) > 2 else CANDIDATE
        out.append(utt(t_s, text, speaker))
    return out


# A fast, reversible mitigator with a good postmortem (seed scenario).
FAST_REVERSIBLE = [
    (2.0, "Okay, which endpoints and which regions are failing?"),
    (9.0, "What changed in the last 24 hours? Any deploys?"),
    (16.0, "So auth v2.3.1 went out right before this. I think the new token cache is the cause."),
    (24.0, "What does the auth database connection count look like?"),
    (31.0, "I'm turning off the auth-token-cache flag now. It's instant and reversible, "
           "and if the error rate doesn't drop we'll roll back auth."),
    (42.0, "I'll watch the error rate and the connection count to confirm it recovers."),
    (50.0, "I'll post a status update in the incident channel."),
    (300.0, "For the postmortem: auth v2.3.1 deployed at 1:40, errors started at 1:45, and we turned off the flag at 2:05."),
    (312.0, "Impact was about 12 percent of logins and checkouts failing for 25 minutes."),
    (322.0, "Our working hypothesis for the root cause is that the token cache opens a connection per request "
            "and exhausts the pool."),
    (334.0, "Follow ups: alert on auth database connection saturation, load test the cache, and canary auth deploys."),
]

# A slow candidate who reaches for a restart, then scales out, and blames people.
SLOW_BLAMER = [
    (5.0, "What's going on?"),
    (20.0, "Anything else?"),
    (40.0, "What's going on with the servers?"),
    (70.0, "Hmm, what is happening"),
    (150.0, "Let's restart the auth pods."),
    (170.0, "Let's scale out the auth service to 30 pods."),
    (300.0, "Honestly whoever shipped v2.3.1 without testing screwed up, this is the auth team's fault."),
    (315.0, "We restarted some stuff and it went away."),
]
