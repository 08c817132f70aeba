"""Utterance labels and the concrete-mitigation detector.

Rule-based on purpose: every decision can be traced to a named table below,
and ``Labelling.reasons`` says which rule fired. Nothing is trained.

Text is first normalised (:func:`normalise`), the same way for utterances and
for the phrases a scenario or the director matches against them:

- lower case, contractions expanded ("let's" -> "let us", "won't" -> "will
  not", "im" -> "i am"), hyphens and slashes between words become spaces
  ("eu-west-1" -> "eu west 1", "roll-back" -> "roll back");
- number words become digits ("twelve percent" -> "12 percent", "sev one"
  -> "sev 1"), "1:40" -> "1 40", "%" -> " percent", and versions take one
  spelling: "version two point three point one", "v 2.3.1" and "2.3.1" all
  become "v2.3.1";
- :data:`STT_FIXES` repairs what tiny.en is known to mishear in incident
  talk: "rollback"/"role back" -> "roll back", "failover"/"fail-over" ->
  "fail over", "train eu west 1" -> "drain ...", "feature flock" -> "feature
  flag", "token cash" -> "token cache", "post grass" -> "postgres", "the off
  service" -> "the auth service".

**Concrete mitigation.** An utterance is cut into sentences (on . ! ? ;) and
each sentence into clauses (on commas and :data:`CLAUSE_WORDS` such as "and",
"but", "then", "so"). :data:`ACTION_PATTERNS` finds mitigation verbs in each
clause (roll back, revert, turn off, disable, fail over, drain, promote the
replica, scale out, restart, bounce, rate limit, throttle, shed, block,
restore, freeze deploys, renew the cert, flush the cache, raise the pool
size, delete old logs to free up disk ...), each with a kind (``labels.MITIGATION_KINDS``; a few verbs take
their kind from their object: "kill the flag" is flag_off, "kill the batch
job" rate_limit, "revert the config change" config_revert). Separable particles take up to
a few words of object in between ("roll X back", "put the pool size back to
50", "fail payments over to the backup", "move DNS over to the secondary",
"spin two brokers up"), and restart slang ("kick the stuck consumer",
"respawn the workers") needs a restartable object. A found verb is a
*concrete* mitigation only when all of these hold:

1. it is said as a commitment: an imperative ("roll back auth"), or after a
   commit frame in :data:`BASE_FRAMES` / :data:`ING_FRAMES` ("let's", "I'll",
   "I'm going to", "I'd", "we should", "we need to", "my plan is to", "can
   you ...", "I'm rolling back ..."; a command verb passes its frame on:
   "I'm running rollout undo on checkout", "I ran ..." is past), a passive commitment ("the flag needs
   to be turned off", "let's get the flag turned off"), or a noun with a
   light verb ("kick off a rollback of auth", "do a rolling restart"). "I
   just / I've just" + past tense counts as done now ("I just kicked off the
   rollback"); any other past tense is a report ("the rollback finished",
   "we rolled back at 2:10") and does not;
2. it is not a question: the sentence does not end in "?" (a tag such as
   "..., right?" is ignored), does not start with a question word after the
   fillers (:data:`QUESTION_STARTS`; STT often drops the "?", so word order
   decides), the verb's comma piece does not ask by word order ("the errors
   are up, should we roll back auth"), has no embedded question marker before the verb ("do you think",
   "I wonder", "what if", "whether") and no wh-object ("roll back what?").
   "Can you / can someone roll back auth" is a directive and commits; "can we
   roll back auth" is a question and does not;
3. it is not negated or deferred: no :data:`NEGATORS` before the verb in its
   clause ("not rolling back", "don't fail over", "rather than restarting",
   "hold off on"), no "before"/"until" just before it, no "yet"/"later" after;
4. it is not conditional: no "if"/"unless"/"assuming" earlier in the
   sentence (reset by "so"), the sentence does not open with "once"/"when"/
   "after", and no gating "if" follows it in its clause. *Decision:* a
   conditional hypothetical ("if it's the deploy we could roll back", "I'd
   roll back auth if the timing lines up") is a plan, not a commitment, and
   is not concrete. A trailing fallback is fine: in "roll back auth, and if
   that doesn't help we turn off the flag" the rollback is concrete and the
   flag is a rollback plan (the "if" clause carries a negation);
5. it is not an option being listed ("one option is to ...", "we could ..."),
   a habit ("whenever we fail over ..."), or postmortem narration (a cue such
   as "postmortem", "follow up", "going forward", "next time", "the
   mitigation was" earlier in the sentence, or "automatically" in the clause);
6. it has a specific target: a content word in its object ("the auth
   deploy", "eu-west-1", "v2.3.1", "the token cache flag"), not only a pronoun
   or :data:`VAGUE_OBJECTS` ("restart everything", "scale it up"). A pronoun
   ("roll it back") takes its target from another clause of the same
   utterance, or from the previous utterances ``label_utterances`` passes as
   context, when one of them names a target; otherwise it is not concrete.

Hedged proposals still count ("I think we should roll back auth", "maybe we
should roll back auth"): they propose a specific action now. Speculation does
not ("we might have to roll back auth").

``Labelling.mitigation_kind`` is the kind of the first concrete mitigation; if
there is none, the kind of a mitigation *proposed* without commitment (a
question such as "should we roll back?", a proposal without a target, a
conditional or a listed option), which the director answers with "what
specifically?". Negated, deferred, past, habitual and postmortem mentions set
no kind; they are listed in ``mentioned_kinds`` and ``reasons``.

**Other labels** come from phrase tables matched per sentence:
blast_radius (:data:`BLAST_RADIUS_PATTERNS`), change_check and signal_check
(their vocabulary in a question or with a checking verb such as "check",
"look at", "pull up", "watch"), diagnostic_question (any other question or
information request, except a question that proposes a mitigation),
hypothesis, communication, escalation, postmortem and blame
(:data:`HYPOTHESIS_PATTERNS` ... :data:`BLAME_PATTERNS`). A question is
found by "?" or by word order, since tiny.en often ends one with "," or "."
instead: a sentence opening with a question word or auxiliary, or a later
comma piece that asks ("okay, 12% failing, which regions are affected,",
"..., when did it start", "..., do we know ...", "..., can you tell me ...");
a relative "..., which fits the release" does not. :func:`asks_question`
says whether an utterance asks, so a statement of intent ("I'll watch the
error rate") is a signal check but not quoted as a question.

Known limits: scope is sentence and clause, not discourse, so "should we roll
back auth? ... yes, do it" is caught only within one utterance or with
context; sarcasm is not understood; and a negation split off by a comma ("I
wouldn't, honestly, roll back auth") is missed, because negation is looked
for within the verb's clause.
"""

from __future__ import annotations

import bisect
import functools
import logging
import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from voice_interviewer import labels as lab
from voice_interviewer.utterances import CANDIDATE, Utterance

logger = logging.getLogger(__name__)

# How far back label_utterances looks for a pronoun's target ("roll it back").
CONTEXT_UTTERANCES = 2
CONTEXT_WINDOW_S = 60.0
# A first word this much before t0 still counts as after it: word timestamps drift.
ONSET_TOLERANCE_S = 0.5


@dataclass
class Labelling:
    """What one utterance says, as the analyser reads it."""

    labels: list[str] = field(default_factory=list)  # in labels.LABELS order
    mitigation_kind: str | None = None  # first concrete kind, else a proposed one (see module doc)
    concrete: bool = False  # a concrete mitigation: action + specific target, committed now
    target: str | None = None  # what the concrete (or proposed) mitigation acts on
    mitigation_id: str | None = None  # the scenario mitigation it matches (kind + targets)
    reasons: list[str] = field(default_factory=list)  # one line per rule that decided
    mentioned_kinds: list[str] = field(default_factory=list)  # every kind mentioned, committed or not


# ---------------------------------------------------------------- normalisation

_CONTRACTIONS = [
    (r"\blet'?s\b", "let us"),
    (r"\bwon'?t\b", "will not"),
    (r"\bcan'?t\b", "can not"),
    (r"\bshan'?t\b", "shall not"),
    (r"\bain'?t\b", "is not"),
    (r"\b(do|does|did|would|should|could|is|are|was|were|has|have|had|must|need)n'?t\b", r"\1 not"),
    (r"\bi'?m\b", "i am"),
    (r"\bi'?ve\b", "i have"),
    (r"\b(it|that|what|who|how|there|here|where|he|she)'s\b", r"\1 is"),
    (r"\b(it|that|what|there)s\b", r"\1 is"),  # STT drops the apostrophe: "thats", "whats"
    (r"'ll\b", " will"),
    (r"'re\b", " are"),
    (r"'ve\b", " have"),
    (r"'d\b", " would"),
    (r"\bgonna\b", "going to"),
    (r"\bwanna\b", "want to"),
    (r"\bgotta\b", "got to"),
    (r"\blemme\b", "let me"),
    (r"'s\b", " 's"),
]

_UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
_TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
          "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1000}

# What tiny.en mishears in incident talk, repaired after numbers are digits.
STT_FIXES = [
    (r"\b(?:role|rol) ?back\b", "roll back"),
    (r"\broll ?backs?\b", "roll back"),
    (r"\bfail ?overs?\b", "fail over"),
    (r"\bfailed ?over\b", "failed over"),
    (r"\b(?:flock|flak|flack|flagg)\b", "flag"),
    (r"\bcash\b", "cache"),
    (r"\b(?:post ?gres(?:s|ql)?|post grass|postgress)\b", "postgres"),
    (r"\bre start(s|ed|ing)?\b", r"restart\1"),
    (r"\bre deploy(s|ed|ing)?\b", r"redeploy\1"),
    (r"\bratelimit", "rate limit"),
    (r"\btrain(s|ed|ing)?\b(?= (?:the |that |this |all )?(?:eu|us|ap|region|regions|traffic|node|nodes|host|hosts|"
     r"pod|pods|zone|az|cluster|connections|it|that|them)\b)", r"drain\1"),
    (r"\b(the|an|a|upstream) (?:off|oath|orth)\b(?= (?:service|deploy|deployment|database|db|pods|team|release|rollout|"
     r"change|cluster|timeout|timeouts|token|tokens)\b)", r"\1 auth"),
    (r"\bin points?\b", "endpoints"),
    (r"\boath\b", "auth"),
    (r"\bp (\d\d)\b", r"p\1"),
    (r"\b(\d) x x\b", r"\1xx"),
    (r"\bd b\b", "db"), (r"\bd n s\b", "dns"), (r"\bc d n\b", "cdn"), (r"\bt l s\b", "tls"),
    (r"\bs s l\b", "ssl"), (r"\bs r e\b", "sre"), (r"\ba p i\b", "api"), (r"\bw a f\b", "waf"),
    (r"\be u\b", "eu"), (r"\bsev(\d)\b", r"sev \1"), (r"\bsev 0?(\d)\b", r"sev \1"),
    (r"\bon ?call\b", "on call"), (r"\bokay\b", "ok"), (r"\bper cent\b", "percent"),
]
_STT_FIXES = [(re.compile(p), r) for p, r in STT_FIXES]
_CONTRACTIONS_RE = [(re.compile(p), r) for p, r in _CONTRACTIONS]


def normalise(text: str, keep_commas: bool = False) -> str:
    """Text in the one spelling every matcher here uses (see the module docstring)."""
    s = text.lower()
    s = s.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    s = re.sub(r"[\u201c\u201d\"]", " ", s)
    s = re.sub(r"%", " percent", s)
    s = re.sub(r"(\d)\s?(am|pm)\b", r"\1 \2", s)
    s = re.sub(r"(\d):(\d\d)", r"\1 \2", s)
    s = re.sub(r"(?<=\w)[-_/](?=\w)", " ", s)
    for pattern, repl in _CONTRACTIONS_RE:
        s = pattern.sub(repl, s)
    s = re.sub(r"[\u2013\u2014]", ",", s)
    # Dots survive only inside tokens (v2.3.1, api.example.com, 10.2.3.4).
    s = re.sub(r"\.(?!\w)|(?<!\w)\.", " ", s)
    s = re.sub(r",", " , " if keep_commas else " ", s)
    s = re.sub(r"[^a-z0-9.,' ]+", " ", s)
    s = re.sub(r"(?<!\w)'(?!s\b)|(?<=\w)'(?!\w)", " ", s)
    s = _numbers(s.split())
    s = _versions(s)
    for pattern, repl in _STT_FIXES:
        s = pattern.sub(repl, s)
    return " ".join(s.split())


def _numbers(tokens: list[str]) -> str:
    """Number words to digits: "twenty five" -> 25, "two hundred" -> 200; "two three zero" stays three numbers."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t in _UNITS or t in _TEENS or t in _TENS:
            n = _UNITS.get(t, _TEENS.get(t, _TENS.get(t)))
            i += 1
            if t in _TENS and i < len(tokens) and tokens[i] in _UNITS and tokens[i] != "zero":
                n += _UNITS[tokens[i]]
                i += 1
            while i < len(tokens) and tokens[i] in _SCALES:
                n *= _SCALES[tokens[i]]
                i += 1
                if i < len(tokens) and tokens[i] in _TENS:
                    n += _TENS[tokens[i]]
                    i += 1
                    if i < len(tokens) and tokens[i] in _UNITS and tokens[i] != "zero":
                        n += _UNITS[tokens[i]]
                        i += 1
                elif i < len(tokens) and (tokens[i] in _UNITS or tokens[i] in _TEENS):
                    n += _UNITS.get(tokens[i], _TEENS.get(tokens[i], 0))
                    i += 1
            out.append(str(n))
            continue
        out.append(t)
        i += 1
    return " ".join(out)


def _versions(s: str) -> str:
    s = re.sub(r"\b(\d+) point (\d+|oh)(?: point (\d+|oh))?\b",
               lambda m: ".".join(g.replace("oh", "0") for g in m.groups() if g is not None), s)
    s = re.sub(r"\b(?:version|v) ?(\d+(?:\.\d+)+)\b", r"v\1", s)
    s = re.sub(r"\b(?:version|v) (\d) (\d) (\d)\b", r"v\1.\2.\3", s)
    s = re.sub(r"\bto (\d) (\d) (\d)\b", r"to v\1.\2.\3", s)
    s = re.sub(r"(?<![\w.])(\d{1,2}\.\d{1,2}\.\d{1,3})(?![.\w])", r"v\1", s)
    return s


@functools.lru_cache(maxsize=4096)
def _phrase_re(phrase: str) -> re.Pattern | None:
    norm = normalise(phrase)
    if not norm:
        return None
    return re.compile(r"(?<![\w])" + re.escape(norm) + r"(?![\w])")


def mentions(text: str, phrases: Iterable[str]) -> bool:
    """Whether ``text`` contains any of ``phrases`` as whole words, both normalised alike.

    "eu-west-1" matches "EU West 1", "12%" matches "twelve percent", "v2.3.1"
    matches "version two point three point one". No stemming: "deploy" does
    not match "deploys", so list the forms you mean.
    """
    norm = normalise(text)
    for phrase in phrases:
        pattern = _phrase_re(phrase)
        if pattern is not None and pattern.search(norm):
            return True
    return False


# ---------------------------------------------------------------- rule tables

# Clause boundaries inside a sentence (besides commas).
CLAUSE_WORDS = frozenset({"and", "but", "then", "so", "because", "cause", "while", "whereas", "although", "though"})
# Words skipped when looking for what precedes a verb: fillers and adverbs.
SKIP_WORDS = frozenset({
    "just", "maybe", "probably", "definitely", "quickly", "immediately", "first", "now", "also", "actually",
    "really", "simply", "please", "um", "uh", "er", "erm", "ok", "so", "yeah", "yes", "alright", "right", "well",
    "then", "thing", "step", "honestly", "basically", "literally", "straight", "hmm", "oh", "like", "go", "ahead",
    "next", "asap", "personally",
})
FILLERS = frozenset({"um", "uh", "er", "erm", "ok", "so", "yeah", "yes", "alright", "right", "well", "and", "hmm",
                     "oh", "like", "now", "then", "hey", "but", "also", "just", "actually", "first", "sorry"})
QUESTION_STARTS = frozenset({
    "should", "shall", "can", "could", "would", "will", "do", "does", "did", "is", "are", "was", "were", "has",
    "have", "had", "what", "which", "who", "whom", "whose", "where", "when", "why", "how", "any", "anyone",
    "anybody", "may", "might", "am",
})
# "can you roll back auth" asks someone to do it: a directive, not a question.
DIRECTIVE_STARTS = (("can", "you"), ("could", "you"), ("will", "you"), ("would", "you"), ("can", "someone"),
                    ("could", "someone"), ("can", "somebody"), ("could", "somebody"), ("can", "anyone"))
# "what I'd do is roll back auth" is an answer, not a question.
PSEUDO_CLEFT_RE = re.compile(r"^what (?:i|we) (?:would|will|should|want to|need to|am going to|are going to) do\b")
# Questions that propose a mitigation rather than ask about the system.
PROPOSAL_QUESTION_RE = re.compile(
    r"^(?:(?:should|shall|can|could|would|may|might) (?:we|i|you)\b|what if\b|do you think\b|i wonder\b|"
    r"are we able\b|is it worth\b|would it make sense\b|does it make sense\b|how about\b|what about\b|"
    r"why not\b|why do not we\b|any objections?\b|is \w+ing\b|would \w+ing\b)"
)
EMBEDDED_QUESTION = ("do you think", "i wonder", "wondering", "whether", "what if", "worth", "make sense",
                     "how about", "what about", "thoughts on", "any objection", "not sure if")
TAG_WORDS = frozenset({"right", "yeah", "ok", "yes", "correct", "agreed", "no"})
NEGATORS = frozenset({"not", "never", "no", "without", "rather", "instead", "avoid", "against", "neither", "nor",
                      "wait", "waiting", "hold", "holding", "nobody"})
DEFER_BEFORE = frozenset({"before", "until", "till"})
DEFER_AFTER = frozenset({"yet", "later", "eventually", "tomorrow"})
CONDITIONALS = frozenset({"if", "unless", "assuming", "suppose", "supposing", "provided", "providing"})
TEMPORAL_OPENERS = frozenset({"once", "when", "whenever", "after"})
FALLBACK_WORDS = frozenset({"not", "no", "nothing", "fail", "fails", "still", "worse", "persist", "persists"})
POSTMORTEM_CUES = ("postmortem", "post mortem", "follow up", "followup", "action item", "going forward",
                   "in the future", "next time", "long term", "longer term", "root cause", "timeline", "write up",
                   "writeup", "retro", "retrospective", "lessons learned", "the mitigation was", "mitigated by",
                   "we mitigated")
AUTOMATION_WORDS = frozenset({"automatically", "automated", "automatic", "auto"})
HABITUAL_CUES = ("whenever", "usually", "normally", "always", "typically", "generally", "every time", "each time",
                 "every night", "on their own", "on its own")
OPTION_WORDS = frozenset({"option", "options", "alternative", "alternatively", "possibility", "choice", "choices",
                          "ideally", "theoretically", "hypothetically"})
# What a verb can be followed by when it is the subject, not a command ("the restart freed ...").
SUBJECT_FOLLOWERS = frozenset({"'s", "is", "was", "did", "does", "will", "would", "takes", "took", "finished",
                               "completed", "helped", "worked", "failed", "went", "has", "had", "should", "might",
                               "can", "could", "may", "makes", "made", "seems", "sounds", "looks"})
# Finite verbs that make a clause-initial gerund a subject ("rolling back is the safe bet").
FINITE_WORDS = SUBJECT_FOLLOWERS | {"are", "were", "help", "helps", "make", "take", "not", "means", "mean", "costs"}
STOP_WORDS = frozenset({"if", "unless", "until", "till", "because", "since", "before", "after", "when", "while",
                        "once", "so", "but", "then", "or", "whenever", "assuming", "as"})
DETERMINERS = frozenset({"a", "an", "the", "this", "that", "another", "our", "their", "your", "its", "my"})
ADJECTIVES = frozenset({"quick", "full", "partial", "fast", "immediate", "controlled", "staged", "emergency", "rolling"})
LIGHT_VERBS = ("do", "does", "doing", "start", "starts", "starting", "started", "trigger", "triggers", "triggering",
               "triggered", "initiate", "initiating", "initiated", "run", "running", "issue", "issuing", "issued",
               "execute", "executing", "perform", "performing", "schedule")
LIGHT_PHRASES = (("kick", "off"), ("kicking", "off"), ("kicked", "off"), ("go", "with"), ("going", "with"),
                 ("go", "for"), ("push", "out"))
IRREGULAR_PAST = frozenset({"froze", "frozen", "took", "taken", "undid", "undone", "did", "done", "spun", "ran",
                            "shut", "kept", "went", "gone", "got", "made"})
# "running <command>" commits like the command's own verb: "I'm running kubectl rollout undo on checkout".
COMMAND_VERBS = frozenset({"run", "runs", "running", "ran", "execute", "executes", "executing", "executed", "issue",
                           "issuing", "issued", "type", "typing", "typed"})
NOT_PAST = frozenset({"need", "shed", "speed", "feed", "proceed"})

# Commit frames: the words just before the verb, fillers and adverbs skipped.
BASE_FRAMES = (
    ("let", "us"), ("i", "will"), ("we", "will"), ("going", "to"), ("i", "would"), ("we", "would"),
    ("i", "want", "to"), ("we", "want", "to"), ("would", "like", "to"), ("we", "should"), ("i", "should"),
    ("we", "need", "to"), ("i", "need", "to"), ("we", "have", "to"), ("i", "have", "to"), ("we", "must"),
    ("i", "must"), ("got", "to"), ("ought", "to"), ("time", "to"), ("is", "to"), ("needs", "to"),
    ("can", "you"), ("could", "you"), ("will", "you"), ("would", "you"), ("can", "someone"), ("could", "someone"),
    ("can", "somebody"), ("can", "anyone"), ("someone",), ("somebody",), ("i",), ("we",), ("please",),
    ("i", "am", "going", "to"), ("we", "are", "going", "to"), ("i", "think", "we", "should"), ("let", "me"),
)
# Frames that propose without committing ("we could roll back"): they set a proposed kind only.
PROPOSAL_FRAMES = BASE_FRAMES + (("could",), ("can",), ("might",), ("may",), ("will", "need", "to"),
                                 ("might", "have", "to"), ("may", "need", "to"))
ING_FRAMES = (("i", "am"), ("we", "are"), ("am",), ("are", "now"))
PASSIVE_FRAMES = (("to", "be"), ("be",), ("get",), ("gets",), ("getting",))
JUST_FRAMES = (("i", "just"), ("we", "just"), ("i", "have", "just"), ("we", "have", "just"), ("i", "have", "now"),
               ("i", "just", "now"))

# Content words that do not name a target.
FUNCTION_WORDS = frozenset({
    "the", "a", "an", "this", "that", "these", "those", "it", "its", "them", "they", "we", "i", "you", "me", "us",
    "our", "my", "your", "their", "to", "from", "at", "on", "in", "into", "onto", "of", "for", "with", "by", "back",
    "off", "out", "over", "up", "down", "now", "right", "away", "immediately", "quickly", "first", "then", "just",
    "please", "again", "too", "also", "asap", "fast", "um", "uh", "er", "erm", "like", "so", "ok", "yeah", "all",
    "some", "any", "more", "is", "are", "was", "were", "be", "'s", "will", "would", "should", "can", "could",
    "there", "here", "and", "or", "not", "no", "straight", "as", "soon", "possible", "automatically", "really",
    "actually", "maybe", "probably", "completely", "entirely", "fully", "whole", "entire", "same", "around",
    "through", "everyone", "everybody", "everywhere", "anyway", "instead", "already", "real", "quick", "go", "do",
    "get", "one", "safely", "slowly", "gradually", "carefully", "bit", "little", "start", "see", "how", "what",
    "way", "least", "at", "least", "thing", "things",
})
VAGUE_OBJECTS = frozenset({"everything", "anything", "something", "stuff", "things", "thing", "problem", "issue",
                           "issues", "whatever", "bleeding", "situation", "mess", "fire"})
# Words that can stand as a target taken from elsewhere in the utterance.
ENTITY_WORDS = frozenset({
    "auth", "api", "deploy", "deployment", "release", "version", "build", "flag", "config", "database", "db",
    "postgres", "mysql", "redis", "cache", "cdn", "dns", "cert", "certificate", "region", "replica", "primary",
    "standby", "pods", "service", "cluster", "node", "host", "proxy", "proxies", "batch", "pipeline", "payments",
    "checkout", "search", "queue", "consumer", "consumers", "kafka", "eu", "us", "frontend", "backend", "change",
    "commit", "token",
})
_DO_SUBJECTS = frozenset({"we", "you", "i", "they", "he", "she", "the", "our", "any", "anyone", "anybody", "these",
                         "those", "that", "this", "people", "customers", "users", "all", "some", "anything",
                         "something", "everything", "someone", "everyone", "there"})
_WH_WORDS = frozenset({"what", "which", "where", "who"})
# Word-order questions inside a sentence, after a comma (see _question_piece).
PIECE_WH = frozenset({"what", "which", "where", "when", "why", "how", "who"})
PIECE_AUX = frozenset({"is", "are", "was", "were", "do", "does", "did", "has", "have", "can", "could", "will",
                       "would", "should"})
_PIECE_SUBJECTS = frozenset({"we", "you", "they", "i", "it", "anyone", "anybody", "anything", "someone", "there",
                             "people", "customers", "users", "our", "any"})
# What follows a relative "which"/"what" ("..., which means the pool is full").
RELATIVE_FOLLOWERS = frozenset({"means", "mean", "fits", "explains", "explain", "makes", "matches", "lines",
                                "suggests", "points", "sounds", "looks", "seems", "implies", "tells", "shows",
                                "would", "could", "might", "is", "was", "will", "should", "can", "i", "we", "you",
                                "they", "it", "he", "she"})

_CONFIG_WORDS = frozenset({"config", "configuration", "setting", "settings", "dns", "record", "records", "ttl",
                           "change", "push", "consul", "pool", "size", "timeout", "timeouts", "limit", "limits",
                           "threshold", "parameter", "value"})
# "the previous config version" is still a config: these outweigh deploy words.
_STRONG_CONFIG_WORDS = frozenset({"config", "configuration", "setting", "settings", "dns", "ttl", "consul"})
_DEPLOY_WORDS = frozenset({"deploy", "deployment", "deploys", "release", "version", "build", "commit", "image",
                           "service", "binary"})
_FLAG_WORDS = frozenset({"flag", "flags", "feature", "toggle", "switch", "integration", "experiment", "cache", "new",
                         "flow"})
_SHED_WORDS = frozenset({"batch", "crawler", "crawlers", "cron", "traffic", "load", "requests", "scraper", "bots"})
_DEPLOYISH = frozenset({"deploy", "deploys", "deployment", "deployments", "release", "releases", "pipeline",
                        "rollouts", "merges", "changes", "train", "shipping"})
_PREFERRED_ENTITIES = {
    "@off": frozenset({"flag", "feature", "toggle", "cache", "integration"}),
    "@revert": frozenset({"deploy", "deployment", "release", "version", "build", "commit", "config", "change"}),
}
_RESTARTABLE = frozenset({"pods", "pod", "instances", "containers", "workers", "hosts", "nodes"})
_KILLABLE = frozenset({"query", "queries", "connection", "connections", "session", "sessions", "process",
                       "processes", "job", "jobs", "transaction", "transactions", "consumer", "consumers", "worker"})


@dataclass(frozen=True)
class ActionPattern:
    name: str
    kind: str  # a labels.MITIGATION_KINDS value, or "@revert"/"@off"/"@kill"/"@pause": resolved from the object
    regex: re.Pattern
    self_commit: bool = False  # the phrase is itself a commitment ("no more deploys")


def _ap(name: str, kind: str, regex: str, self_commit: bool = False) -> ActionPattern:
    return ActionPattern(name, kind, re.compile(regex), self_commit)


ACTION_PATTERNS = (
    # rollback / config revert
    _ap("roll back", "@revert", r"\broll(?:s|ed|ing)? (?:\S+ ){0,4}?back\b"),
    _ap("revert", "@revert", r"\brevert(?:s|ed|ing)?\b"),
    # Separable particle, object in between: "put the pool size back to 50", "set the timeout back".
    _ap("put back", "@revert", r"\b(?:put|puts|putting|set|sets|setting|change|changes|changing|dial|dials|dialling|dialing) "
        r"(?:\S+ ){1,6}?back\b(?! (?:on|up|in|online|into)\b)"),
    _ap("undo", "@revert", r"\b(?:undo(?:es|ing)?|undid)\b"),
    _ap("back out", "@revert", r"\bback(?:s|ed|ing)? out\b"),
    _ap("downgrade", "@revert", r"\bdowngrad(?:e|es|ed|ing)\b"),
    _ap("go back to", "@revert", r"\bgo(?:ing)? back to (?:the )?(?:v\d|previous|last known good|old|prior)"),
    _ap("redeploy previous", "@revert", r"\bredeploy(?:s|ed|ing)? (?:the )?(?:previous|last known good|old|prior|v\d)"),
    _ap("push previous", "@revert", r"\bpush(?:es|ed|ing)? (?:the )?(?:previous|old|last known good|prior) (?:config|configuration|version|build)"),
    # flag off
    _ap("turn off", "@off", r"\bturn(?:s|ed|ing)? (?:\S+ ){0,5}?off\b"),
    _ap("switch off", "@off", r"\bswitch(?:es|ed|ing)? (?:\S+ ){0,5}?off\b"),
    _ap("flip off", "@off", r"\bflip(?:s|ped|ping)? (?:\S+ ){0,5}?off\b"),
    _ap("toggle off", "@off", r"\btoggl(?:e|es|ed|ing) (?:\S+ ){0,5}?off\b"),
    _ap("disable", "@off", r"\bdisabl(?:e|es|ed|ing)\b"),
    _ap("kill switch", "flag_off", r"\b(?:flip|hit|pull|throw|use)(?:s|ped|ping|ing)? (?:the )?kill switch\b"),
    _ap("kill", "@kill", r"\bkill(?:s|ed|ing)?\b"),
    # failover / drain
    _ap("fail over", "failover", r"\bfail(?:s|ed|ing)? over\b"),
    _ap("fail X over", "failover", r"\bfail(?:s|ed|ing)? (?!over\b)(?:\S+ ){1,4}?over(?= to\b|$| now\b| right\b)"),
    _ap("move over to", "failover", r"\b(?:move|moves|moved|moving|shift|shifts|shifted|shifting|swing|swings|swinging|"
        r"migrate|migrates|migrating|flip|flips|flipping|cut|cuts|cutting|switch|switches|switching) (?:\S+ ){1,5}?over to\b"),
    _ap("drain", "failover", r"\bdrain(?:s|ed|ing)?\b"),
    _ap("evacuate", "failover", r"\bevacuat(?:e|es|ed|ing)\b"),
    _ap("promote replica", "failover", r"\bpromot(?:e|es|ed|ing) (?:the )?(?:\S+ ){0,2}?(?:replica|standby|secondary|follower)\b"),
    _ap("cut over", "failover", r"\bcut(?:s|ting)? over\b"),
    _ap("move traffic", "failover", r"\b(?:shift|move|route|send|redirect|steer|divert)(?:s|ed|ing)? (?:all |the |some |most |half )?(?:of )?(?:the )?(?:\S+ )?(?:traffic|requests|users|everything)\b"),
    _ap("out of rotation", "failover", r"\b(?:take|takes|taking|pull|pulls|pulled|pulling) (?:\S+ ){1,4}?out of (?:rotation|service|the pool|the load balancer|dns)\b"),
    _ap("switch to standby", "failover", r"\b(?:switch(?:es|ed|ing)?|mov(?:e|es|ed|ing)|shift(?:s|ed|ing)?|repoint(?:s|ed|ing)?|migrat(?:e|es|ed|ing)) (?:\S+ ){0,4}?(?:over )?to (?:the )?(?:secondary|standby|backup|replica|other region|fallback|dr|us|eu|ap)\b"),
    # scale out
    _ap("scale out", "scale_out", r"\bscal(?:e|es|ed|ing) (?:\S+ ){0,4}?(?:out|up)\b"),
    _ap("add capacity", "scale_out", r"\badd(?:s|ed|ing)? (?:\S+ ){0,3}?(?:pods|instances|replicas|nodes|capacity|workers|consumers|servers|hosts|machines|brokers|shards|containers)\b"),
    _ap("spin up", "scale_out", r"\b(?:spin(?:s|ning)?|spun) (?:\S+ ){0,4}?up\b"),
    _ap("raise replicas", "scale_out", r"\b(?:bump|increase|raise|double|triple|grow)(?:s|ed|ing|d)? (?:up )?(?:\S+ ){0,5}?(?:replica count|replicas|instance count|instances|pods|capacity|worker count|workers|nodes)\b"),
    _ap("provision more", "scale_out", r"\bprovision(?:s|ed|ing)? more\b"),
    # restart
    _ap("rolling restart", "restart", r"\brolling restart\b"),
    _ap("restart", "restart", r"\brestart(?:s|ed|ing)?\b"),
    _ap("bounce", "restart", r"\bbounc(?:e|es|ed|ing)\b"),
    # Slang for a restart, only with something restartable after it ("kick off" is a light verb, not a restart).
    _ap("kick", "restart", r"\b(?:kick|kicks|kicked|kicking|respawn|respawns|respawning|relaunch|relaunches|relaunching|"
        r"recreate|recreates|recreating|power cycle|power cycling) (?!off\b)(?:the |that |those |all )?(?:\S+ ){0,3}?"
        r"(?:consumer|consumers|pod|pods|worker|workers|process|processes|broker|brokers|node|nodes|host|hosts|"
        r"container|containers|daemon|daemons|server|servers|instance|instances|service|job|agent|agents)\b"),
    _ap("reboot", "restart", r"\breboot(?:s|ed|ing)?\b"),
    _ap("recycle", "restart", r"\brecycl(?:e|es|ed|ing)\b"),
    _ap("cycle", "restart", r"\bcycl(?:e|es|ed|ing) (?:the )?(?:\S+ )?(?:pods|hosts|nodes|workers|instances|service|containers|processes)\b"),
    _ap("roll pods", "restart", r"\broll(?:s|ed|ing)? (?:the )?(?:\S+ )?(?:pods|hosts|nodes|workers|fleet|instances)\b"),
    # rate limit / shed
    _ap("load shedding on", "rate_limit", r"\b(?:turn(?:s|ed|ing)? on|switch(?:es|ed|ing)? on|enabl(?:e|es|ed|ing)) (?:the )?(?:\S+ )?(?:load shedding|rate limiting|rate limiter|throttling)\b"),
    _ap("rate limit", "rate_limit", r"\brate limit(?:s|ed|ing)?\b"),
    _ap("throttle", "rate_limit", r"\bthrottl(?:e|es|ed|ing)\b"),
    _ap("shed", "rate_limit", r"\bshed(?:s|ding)?\b"),
    _ap("cap", "rate_limit", r"\bcap(?:s|ped|ping)? (?:the )?(?:\S+ ){0,2}?(?:requests|traffic|rps|qps|concurrency|load)\b"),
    _ap("pause", "@pause", r"\b(?:pause|paused|pauses|pausing|stop|stops|stopped|stopping|halt|halts|halted|halting|suspend|suspends|suspended|suspending)\b"),
    # block
    _ap("block", "block", r"\b(?:block|blocks|blocked|blocking|blacklist|blacklisted|blocklist|ban|bans|banned|banning|deny|denied|denying)\b"),
    _ap("null route", "block", r"\bnull rout(?:e|es|ed|ing)\b"),
    _ap("firewall off", "block", r"\bfirewall(?:s|ed|ing)? off\b"),
    _ap("revoke", "block", r"\brevok(?:e|es|ed|ing)\b"),
    _ap("waf rule", "block", r"\badd(?:s|ed|ing)? (?:a )?waf rule\b"),
    # restore
    _ap("point in time restore", "restore", r"\bpoint in time (?:restore|recovery)\b"),
    _ap("restore", "restore", r"\brestor(?:e|es|ed|ing)\b"),
    _ap("recover from", "restore", r"\brecover(?:s|ed|ing)? (?:\S+ ){0,3}?from\b"),
    # freeze deploys
    _ap("freeze", "freeze_deploys", r"\b(?:freez(?:e|es|ing)|froze|frozen)\b"),
    _ap("code freeze", "freeze_deploys", r"\bcode freeze\b"),
    _ap("lock deploys", "freeze_deploys", r"\block(?:s|ed|ing)? (?:the )?(?:deploy|deploys|deployment|deployments|release|releases|pipeline)\b"),
    _ap("no more deploys", "freeze_deploys", r"\bno (?:more|new) (?:deploys|deployments|releases|changes)\b", self_commit=True),
    _ap("nobody deploys", "freeze_deploys", r"\bnobody (?:deploys|ships|pushes|merges)\b", self_commit=True),
    # other concrete actions
    _ap("renew", "other", r"\brenew(?:s|ed|ing)?\b"),
    _ap("rotate secret", "other", r"\brotat(?:e|es|ed|ing) (?:the )?(?:\S+ ){0,3}?(?:cert|certs|certificate|certificates|key|keys|credentials|secret|secrets|token|tokens)\b"),
    _ap("push fix", "other", r"\bpush(?:es|ed|ing)? (?:the |a )?(?:new |renewed |fixed )?(?:cert|certificate|certificates|fix|hotfix|patch)\b"),
    # "purge"/"flush" only ever act on caches and queues, so they need no named object; "clear" does.
    _ap("purge", "other", r"\b(?:flush|flushes|flushed|flushing|purge|purges|purged|purging)\b"),
    _ap("clear", "other", r"\b(?:clear|clears|cleared|clearing|wipe|wipes|wiped|wiping)(?: out)? (?:the )?(?:\S+ ){0,3}?(?:cache|caches|queue|queues|logs|log|disk|keys|tmp|backlog|cdn)\b"),
    # Clean-up that frees a resource: "delete the old core dumps on db-2", "clean up the tmp files", "free up disk".
    _ap("clean up", "other", r"\b(?:delet(?:e|es|ed|ing)|remov(?:e|es|ed|ing)|truncat(?:e|es|ed|ing)|prun(?:e|es|ed|ing)|"
        r"archiv(?:e|es|ed|ing)|compress(?:es|ed|ing)?|gzip(?:s|ped|ping)?|clean(?:s|ed|ing)? (?:up|out)) "
        r"(?:\S+ ){0,4}?(?:logs|log files|dumps|core dumps|heap dumps|files|snapshots|tmp|temp|old indices|indices|"
        r"images|artifacts|backups|volumes|wal|binlogs|journal|journals)\b"),
    _ap("free up", "other", r"\bfree(?:s|d|ing)? up (?:\S+ ){0,2}?(?:disk|space|memory|room|inodes)\b"),
    _ap("send on site", "other", r"\bsend(?:s|ing)? (?:a |an |the |our |someone|somebody)(?:\S+ ){0,3}?(?:on site|onsite|to the (?:data cent(?:re|er)|dc|colo))\b"),
    _ap("warm cache", "other", r"\bwarm(?:s|ed|ing)? (?:up )?(?:the )?(?:\S+ ){0,2}?cache\b"),
    _ap("raise limit", "other", r"\b(?:bump|increase|raise|double|grow|extend|expand|lower|reduce|decrease|shorten|lengthen|resize)(?:s|d|ed|ing)? (?:up )?(?:the )?(?:\S+ ){0,4}?(?:pool|connections|connection limit|timeout|timeouts|ttl|limit|limits|memory|heap|disk|volume|quota|buffer)\b"),
    _ap("circuit breaker", "other", r"\b(?:open|opens|opened|opening|trip|trips|tripped|tripping|enabl(?:e|es|ed|ing)) (?:the )?(?:\S+ ){0,3}?circuit breaker\b"),
    _ap("enable fallback", "other", r"\benabl(?:e|es|ed|ing) (?:the )?(?:\S+ ){0,2}?(?:maintenance mode|maintenance page|read only|serve stale|stale cache|fallback)\b"),
    _ap("maintenance mode", "other", r"\bput(?:s|ting)? (?:\S+ ){0,4}?(?:into|in) (?:maintenance|read only)\b"),
    _ap("point at", "other", r"\bpoint(?:s|ed|ing)? (?:the |our )?(?:\S+ ){0,3}?(?:dns|record|records|traffic|domain|cname|alias|clients)(?: back)? (?:at|to)\b"),
)

# Label phrase tables (regexes over normalised text).
BLAST_RADIUS_PATTERNS = [
    r"\b(?:which|what|how many|how much of the|what kind of|what type of) (?:\S+ )?(?:users|customers|endpoints|"
    r"regions|requests|accounts|services|tenants|pages|countries|zones|apis|routes|clients|merchants|calls|"
    r"traffic|markets|platforms|devices)\b",
    r"\bwho is (?:affected|impacted|seeing)\b", r"\bwhat is (?:affected|impacted|broken)\b", r"\bblast radius\b",
    r"\ball (?:regions|users|customers|endpoints|accounts|tenants)\b", r"\bjust (?:one|1) region\b",
    r"\bwhat percent(?:age)?\b", r"\bboth regions\b", r"\bonly (?:one|1|some)\b", r"\bevery (?:request|region|user|customer)\b", r"\bhow (?:widespread|bad|big|many)\b", r"\bscope\b", r"\bis it global\b",
    r"\b(?:specific|particular|certain|some) (?:accounts|customers|users|regions|endpoints)\b",
    r"\baffect(?:ed|ing)? (?:all|everyone|every)\b", r"\bwhat is the impact\b", r"\b(?:customer|user) impact\b",
]
CHANGE_WORDS = (r"\b(?:deploy|deploys|deployed|deployment|deployments|release|releases|released|what changed|"
                r"anything change|any change|changes|recent change|change log|changelog|rolled out|roll out|"
                r"shipped|ship|config push|config change|last 24 hours|diff|commit|commits|merged|went out|"
                r"pushed|push|cut over|migration|upgrade|upgraded|patched)\b")
SIGNAL_WORDS = (r"\b(?:dashboard|dashboards|metric|metrics|graph|graphs|error rate|error rates|latency|p99|p95|p50|"
                r"logs|log|traces|trace|tracing|cpu|memory|saturation|connections|connection count|health|healthy|"
                r"monitoring|alerts|alert|throughput|hit rate|replication lag|lag|queue depth|status page|resolving|"
                r"resolve|expire|expiry|expires|heap|gc|disk|timeouts|timeout|errors say|error message|error messages|"
                r"5xx|500s|in sync|caught up|load|utilization|utilisation|grafana|datadog|apm|doing|look like|"
                r"looks like|rps|qps|requests per second|stack trace|exceptions|exception|getting worse|stable|trend|"
                r"going up|increasing|spiking|recovered|recovering)\b")
CHECK_VERBS = (r"\b(?:check|checking|look at|looking at|look into|pull up|watch|watching|monitor|monitoring|"
               r"keep an eye|see|seeing|confirm|verify|show me|let me|tell me|i want to know|find out|review|"
               r"dig into|compare)\b")
INFO_REQUEST = r"\b(?:let me (?:check|see|look)|tell me|show me|i want to know|i would like to know|i need to know|find out|can you tell)\b"
HYPOTHESIS_PATTERNS = [
    r"\bi think (?:it is|the|that is|this is|its|it|that|this)\b(?! (?:we|i|you) )", r"\bmy (?:hunch|guess|bet|theory|money)\b",
    r"\bhypothesis\b", r"\bi suspect\b", r"\bsuspect(?:ing)? (?:the|it|that)\b", r"\b(?:sounds|looks|smells|seems) like\b",
    r"\bprobably\b", r"\blikely\b", r"\b(?:could|might|may) be (?:the|a|an|that|it|related|caused)\b",
    r"\bi (?:bet|would guess|guess it)\b", r"\bpoints to\b", r"\bconsistent with\b", r"\bbecause (?:the|it|every|of|we|they)\b",
    r"\bcaused by\b", r"\bthe cause\b", r"\b(?:will|would) just\b", r"\bmakes it worse\b", r"\bmake it worse\b",
    r"\b(?:will|would|is) not (?:going to )?(?:help|fix|work|solve)\b", r"\bnot going to (?:help|fix|work)\b",
    r"\bif (?:it|this|that) is (?:the|a|an)\b", r"\bif the \w+(?: \w+)? is\b", r"\bturns out\b", r"\bassuming (?:it|the|this)\b",
    r"\bmy read is\b",
    # Naming a suspect or a bet: "so that's my prime suspect", "my main suspect is the auth deploy", "I'd bet on the cache".
    r"\b(?:prime|main|top|lead|leading|biggest|obvious|usual|likeliest|first|number 1) (?:suspect|suspects|culprit|candidate)\b",
    r"\bmy (?:suspect|suspects|suspicion|gut|instinct|money is)\b", r"\bsuspect (?:is|are|would be|here)\b", r"\bculprit\b",
    r"\bi (?:would |am )?(?:bet|betting|reckon|figure)\b", r"\b(?:gut|smell|smells|smelled) (?:says|tells|feeling|like)\b",
    r"\bchances are\b", r"\b(?:must|has to|got to|gotta) be (?:the|a|an|that|it|related|caused)\b",
    r"\bsuspicious\b", r"\b(?:feels|felt) like (?:the|a|it|that)\b", r"\bi would put (?:my )?money on\b", r"\b(?:that|which|this) (?:fits|explains|would explain|lines up)\b", r"\bsettles it\b", r"\bleaking\b", r"\bexhaust(?:ed|ion)\b",
]
COMMUNICATION_PATTERNS = [
    r"\bstatus update\b", r"\bupdate (?:the |our )?(?:status|stakeholders|support|customers|channel|incident|them|"
    r"everyone|leadership|account manager|the account)\b", r"\bpost (?:an |a )?(?:update|in|to|on|status)\b",
    r"\bincident channel\b", r"\btell (?:the )?(?:customers|support|account manager|stakeholders|team|leadership|them|everyone|cs)\b",
    r"\bnotify\b", r"\blet (?:the |our )?\w+(?: \w+)? know\b", r"\bheads up\b", r"\bcomms\b", r"\bcommunicat\w*\b",
    r"\bannounce\b", r"\bkeep (?:you|them|everyone|people) (?:posted|updated|informed)\b", r"\bupdate (?:them|you) every\b",
    r"\bsend (?:an |a )?(?:update|message|note|email)\b", r"\bstatuspage\b", r"\bcustomer (?:message|notice|comms)\b",
]
ESCALATION_PATTERNS = [
    r"\bpage (?:the|someone|somebody|an|our|whoever|a)\b", r"\bpaging\b", r"\bwake (?:up )?(?:the|someone|somebody|her|him)\b",
    r"\bwake up\b", r"\bcall (?:in )?(?:the|someone|somebody)\b", r"\bescalat\w*\b", r"\bloop in\b", r"\bpull in\b",
    r"\bbring in\b", r"\bget (?:the )?(?:\S+ ){0,2}(?:team|on call|sre|owner|lead|dba|expert)\b",
    r"\bdeclar(?:e|ing|ed) (?:a |an )?(?:sev|incident|major)\b", r"\bsev 1\b", r"\bincident commander\b",
    r"\bon call for\b", r"\bwho is on call\b", r"\bwho owns\b", r"\bping (?:the|someone|whoever)\b",
    r"\breach out to\b", r"\bget hold of\b", r"\bwar room\b",
]
POSTMORTEM_PATTERNS = [
    r"\bpost ?mortem\b", r"\broot cause\b", r"\btimeline\b", r"\bfollow ?ups?\b", r"\baction items?\b",
    r"\bgoing forward\b", r"\bin the future\b", r"\bnext time\b", r"\blong(?:er)? term\b", r"\blessons learned\b",
    r"\bcontributing factors?\b", r"\bimpact was\b", r"\bthe mitigation was\b", r"\bmitigated by\b",
    r"\bwe mitigated\b", r"\bwrite ?up\b", r"\bretro(?:spective)?\b",
    # Narrated actions with a time: "we rolled back at 2:10", "the flag was turned off at 2:05".
    r"\b(?:we|i) (?:\S+ )?(?:\w+ed|went|took|froze|began|saw|got) (?:\S+ ){0,4}?at \d{1,2}(?: \d\d)?\b",
    r"\b(?:was|were) \w+ed (?:\S+ ){0,3}?at \d{1,2}(?: \d\d)?\b",
    r"\b(?:were|was) (?:affected|impacted|down|failing) for\b",
]
BLAME_PATTERNS = [
    r"\bfault\b", r"\bblame\b", r"\bcareless\w*\b", r"\bsloppy\b", r"\bincompeten\w*\b", r"\bscrewed up\b",
    r"\bmessed up\b", r"\bdropped the ball\b", r"\bshould have known better\b", r"\bshould have caught\b",
    r"\b(?:they|he|she|you) (?:never|did not|do not) (?:test|check|bother)\b", r"\bidiot\w*\b", r"\bstupid\b",
    r"\blazy\b", r"\bwhoever (?:shipped|pushed|wrote|deployed|merged|approved)\b", r"\bwho (?:the hell )?(?:pushed|shipped) this\b",
    r"\b(?:their|his|her) (?:mistake|fault|screw up)\b", r"\bthe intern\b", r"\bshould be fired\b",
    r"\bfire (?:him|her|them|whoever)\b", r"\bwhat were they thinking\b", r"\bcowboy\b", r"\bamateur\w*\b",
    r"\bno idea what (?:they|he|she) (?:are|is|were|was) doing\b",
]


def _compile(patterns: Sequence[str]) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


_BLAST_RE = _compile(BLAST_RADIUS_PATTERNS)
_CHANGE_RE = re.compile(CHANGE_WORDS)
_SIGNAL_RE = re.compile(SIGNAL_WORDS)
_CHECK_RE = re.compile(CHECK_VERBS)
_INFO_RE = re.compile(INFO_REQUEST)
_HYPOTHESIS_RE = _compile(HYPOTHESIS_PATTERNS)
_COMMUNICATION_RE = _compile(COMMUNICATION_PATTERNS)
_ESCALATION_RE = _compile(ESCALATION_PATTERNS)
_POSTMORTEM_RE = _compile(POSTMORTEM_PATTERNS)
_BLAME_RE = _compile(BLAME_PATTERNS)
_CHANGE_LOG_RE = re.compile(r"\b(?:deploy|deployment|release|change|audit) (?:log|logs|history)\b")
_ALWAYS_CHANGE_RE = re.compile(r"\b(?:what changed|anything change|any changes|recent changes?|change log|changelog|deploy log|deploy history)\b")


# ---------------------------------------------------------------- sentences and actions


@dataclass
class _Sentence:
    tokens: list[str]  # normalised, commas as "," tokens
    clauses: list[tuple[int, int]]  # token index ranges [start, end)
    question: bool  # a question as a whole
    question_mark: bool  # ends in "?" (STT often leaves it out)
    proposal_question: bool  # a question that proposes an action ("should we ...")
    # A comma-separated piece after the first asks by word order: "okay, 12% failing, which regions are affected,".
    question_piece: bool = False

    @property
    def text(self) -> str:
        return " ".join(t for t in self.tokens if t != ",")


@dataclass
class _Action:
    kind: str | None
    name: str
    sentence: int
    head: int  # token index of the verb (or light verb) in its sentence
    verb: int  # token index where the pattern matched
    end: int  # token index after the match
    clause: tuple[int, int]
    status: str = "mention"  # "concrete" or the reason it is not
    target: str | None = None
    proposal: bool = False  # proposed without commitment: sets mitigation_kind when nothing is concrete


def _split_sentences(text: str) -> list[_Sentence]:
    pieces = [p for p in re.split(r"(?<=[.!?;])\s+|\n+", text.strip()) if p.strip()]
    sentences = []
    for piece in pieces:
        raw = piece.strip()
        question_mark = raw.endswith("?")
        tokens = normalise(raw, keep_commas=True).split()
        if not tokens:
            continue
        sentences.append(_make_sentence(tokens, question_mark))
    return sentences


def _make_sentence(tokens: list[str], question_mark: bool) -> _Sentence:
    clauses, start = [], 0
    for i, t in enumerate(tokens + [","]):
        if t == "," or t in CLAUSE_WORDS:
            if i > start:
                clauses.append((start, i))
            start = i + 1
    words = [t for t in tokens if t != ","]
    lead = _strip_leading(words, FILLERS)
    tag = question_mark and len(words) > 2 and words[-1] in TAG_WORDS
    # "don't fail over" and "do it now" open with "do" but are orders.
    starts_q = bool(lead) and lead[0] in QUESTION_STARTS and not (
        lead[0] in ("do", "does", "did") and (len(lead) < 2 or lead[1] not in _DO_SUBJECTS)
        and not (lead[0] != "do" and len(lead) > 1 and lead[1] == "it"))  # "did it work" asks
    head = " ".join(lead)
    directive = any(tuple(lead[: len(d)]) == d for d in DIRECTIVE_STARTS)
    cleft = bool(PSEUDO_CLEFT_RE.match(head))
    question = ((question_mark and not tag) or starts_q) and not directive and not cleft
    proposal = question and bool(PROPOSAL_QUESTION_RE.match(head))
    return _Sentence(tokens, clauses, question, question_mark, proposal, _question_piece(tokens))


def _question_piece(tokens: list[str]) -> bool:
    """Whether a piece after a comma or "and"/"so" asks by word order, not by "?" (tiny.en often ends on "," or ".")."""
    pieces, current = [], []
    for t in tokens + [","]:
        if t == "," or t in ("and", "so", "but"):
            if current:
                pieces.append(current)
            current = []
        else:
            current.append(t)
    for piece in pieces[1:]:
        lead = _strip_leading(piece, FILLERS)
        if len(lead) >= 2 and _asks_by_word_order(lead):
            return True
    return False


def _asks_by_word_order(lead: list[str]) -> bool:
    first, second = lead[0], lead[1]
    if first in PIECE_WH and second in PIECE_AUX:
        return True  # "when did it start", "how is the db doing"
    if first in ("which", "what") and second not in RELATIVE_FOLLOWERS and not second.endswith("ed"):
        # "which regions are affected" asks; "which fits the release" / "which means ..." is a relative clause.
        return any(t in PIECE_AUX for t in lead[2:6])
    if first in ("how", "what") and second in ("many", "much", "about", "percent", "percentage", "kind", "share"):
        return True
    if first in PIECE_AUX and first not in ("will", "would", "should", "can", "could") and second in _PIECE_SUBJECTS and not (
            first == "do" and second == "it"):
        return True  # "is it all regions", "did anything change", "do we know when it started"; "do it" orders
    if (first, second) in (("can", "you"), ("could", "you")) and len(lead) > 2 and lead[2] in ("tell", "show", "check", "confirm", "pull", "share", "give", "send"):
        return True
    return lead[:3] in (["do", "we", "know"], ["does", "anyone", "know"], ["any", "idea", "what"])


def _strip_leading(words: list[str], skip: frozenset[str]) -> list[str]:
    i = 0
    while i < len(words) and words[i] in skip:
        i += 1
    return words[i:]


def _find_actions(sentences: list[_Sentence]) -> list[_Action]:
    found = []
    for s_index, sentence in enumerate(sentences):
        for c_start, c_end in sentence.clauses:
            found += _clause_actions(sentence, s_index, c_start, c_end)
    return found


def _clause_actions(sentence: _Sentence, s_index: int, c_start: int, c_end: int) -> list[_Action]:
    tokens = sentence.tokens[c_start:c_end]
    text = " ".join(tokens)
    offsets, pos = [], 0
    for t in tokens:
        offsets.append(pos)
        pos += len(t) + 1
    matches = []
    for pattern in ACTION_PATTERNS:
        for m in pattern.regex.finditer(text):
            first = bisect.bisect_right(offsets, m.start()) - 1
            last = bisect.bisect_right(offsets, max(m.start(), m.end() - 1)) - 1
            matches.append((first, -(last - first), last + 1, pattern))
    matches.sort(key=lambda item: (item[0], item[1]))
    actions, taken_until = [], -1
    for first, _, end, pattern in matches:
        if first < taken_until:
            continue  # inside an earlier, longer match ("turn on load shedding")
        taken_until = end
        actions.append(_Action(kind=pattern.kind, name=pattern.name, sentence=s_index, head=c_start + first,
                               verb=c_start + first, end=c_start + end, clause=(c_start, c_end)))
        if pattern.self_commit:
            actions[-1].status = "self"
    return actions


# ---------------------------------------------------------------- deciding one action


def _decide(action: _Action, sentences: list[_Sentence], context_words: list[list[str]]) -> None:
    """Set ``action.status`` to "concrete" or the first reason it is not, and its target and kind."""
    sentence = sentences[action.sentence]
    toks = sentence.tokens
    c_start, c_end = action.clause
    self_commit = action.status == "self"
    noun = _noun_form(action, toks)
    if noun == "subject":
        action.kind = _resolve_kind(action.kind, _object_tokens(action, toks) + toks[c_start:action.verb])
        action.status = "noun mention"
        return
    # With a light verb ("kick off a rollback of auth") the head is now that verb.
    obj = _object_tokens(action, toks)
    raw_kind = action.kind
    action.kind = _resolve_kind(raw_kind, obj + toks[c_start:action.verb])
    if action.kind is None:
        action.status = "not a mitigation"
        return
    before_sentence = toks[: action.head]
    before_clause = toks[c_start: action.head]
    after_clause = toks[action.end: c_end]
    form = _form(toks[action.head])

    reason = _blocking_reason(action, sentence, before_sentence, before_clause, after_clause, form, self_commit)
    target = _target(obj, action, toks, sentences, context_words, _PREFERRED_ENTITIES.get(raw_kind, frozenset()))
    if target and raw_kind in ("@revert", "@off") and not _content(obj):
        # "turn it off" takes its kind from what "it" is: a flag is a flag_off.
        action.kind = _resolve_kind(raw_kind, obj + target.split())
    action.target = target
    if reason is None and not target:
        reason = "no target"
    if reason is None:
        action.status = "concrete"
        return
    action.status = reason
    before_text = " " + " ".join(t for t in before_sentence if t != ",") + " "
    embedded = any(f" {m} " in before_text for m in EMBEDDED_QUESTION)
    framed = _at_clause_start(before_clause) or any(
        _ends_with(_strip_trailing([t for t in before_clause if t != ","]), f) for f in PROPOSAL_FRAMES)
    action.proposal = (reason in ("no target", "conditional", "option") and framed) or (
        reason == "question" and (sentence.proposal_question or embedded or _at_clause_start(before_clause)
                                  or bool(PROPOSAL_QUESTION_RE.match(" ".join(_piece_lead(before_sentence)))))
    )


def _blocking_reason(action: _Action, sentence: _Sentence, before_sentence: list[str], before_clause: list[str],
                     after_clause: list[str], form: str, self_commit: bool) -> str | None:
    before_text = " ".join(t for t in before_sentence if t != ",")
    sentence_text = sentence.text
    clause_words = set(before_clause) | set(after_clause)
    if any(cue in f" {before_text} " for cue in (f" {c} " for c in POSTMORTEM_CUES)) or clause_words & AUTOMATION_WORDS:
        return "postmortem"
    if any(re.search(rf"\b{re.escape(cue)}\b", sentence_text) for cue in HABITUAL_CUES):
        return "habitual"
    if _is_question(action, sentence, before_sentence, after_clause):
        return "question"
    # Before negation: in "... and if that doesn't help we turn off the flag" the "not" belongs to the condition.
    if _conditional(before_sentence, after_clause):
        return "conditional"
    if _negated(before_clause):
        return "negated"
    if set(before_clause[-3:]) & DEFER_BEFORE or set(after_clause) & DEFER_AFTER:
        return "deferred"
    if set(before_sentence) & OPTION_WORDS or "could also" in before_text:
        return "option"
    if self_commit:
        return None
    return _commit_frame(before_clause, form, after_clause)


def _negated(before_clause: list[str]) -> bool:
    words = [t for t in before_clause if t != ","]
    for i, t in enumerate(words):
        if t in NEGATORS:
            if t in ("hold", "holding") and (i + 1 >= len(words) or words[i + 1] not in ("off", "on")):
                continue
            if t == "no" and i + 1 < len(words) and words[i + 1] in ("more", "new"):
                continue
            return True
    return bool(words) and words[-1] in ("stop", "quit")


def _is_question(action: _Action, sentence: _Sentence, before_sentence: list[str], after_clause: list[str]) -> bool:
    if sentence.question:
        return True
    if _piece_asks(before_sentence):
        return True
    before_text = " ".join(t for t in before_sentence if t != ",")
    if any(f" {m} " in f" {before_text} " for m in EMBEDDED_QUESTION):
        return True
    rest = [t for t in after_clause if t not in ("back", "off", "over", "to", "out", "up", "the")]
    return bool(rest) and rest[0] in _WH_WORDS and len(rest) <= 3


def _piece_asks(before_sentence: list[str]) -> bool:
    """"the errors are up, should we roll back auth": the verb's comma piece asks, though the sentence does not."""
    lead = _piece_lead(before_sentence)
    return bool(lead) and (bool(PROPOSAL_QUESTION_RE.match(" ".join(lead))) or _asks_by_word_order(lead + ["x"]))


def _piece_lead(before_sentence: list[str]) -> list[str]:
    """The words of the verb's comma piece before it, fillers skipped; [] for the first piece or an order."""
    if "," not in before_sentence:
        return []  # the sentence's own start was judged already
    piece = before_sentence[len(before_sentence) - before_sentence[::-1].index(","):]
    lead = _strip_leading(piece, FILLERS)
    if len(lead) < 2 or any(tuple(lead[: len(d)]) == d for d in DIRECTIVE_STARTS) or PSEUDO_CLEFT_RE.match(" ".join(lead)):
        return []
    return lead


def _conditional(before_sentence: list[str], after_clause: list[str]) -> bool:
    words = [t for t in before_sentence if t != ","]
    if "so" in words:
        words = words[len(words) - words[::-1].index("so"):]  # "if X, so let's roll back" resets
    if set(words) & CONDITIONALS or " in case " in f" {' '.join(words)} ":
        return True
    lead = _strip_leading([t for t in before_sentence if t != ","], FILLERS)
    if lead and (lead[0] in TEMPORAL_OPENERS or lead[:3] == ["as", "soon", "as"]):
        return True  # "once the rollback finishes, turn off the flag" is a plan for later
    for i, t in enumerate(after_clause):
        if t in ("if", "assuming", "provided", "once", "when", "after"):
            tail = set(after_clause[i + 1:])
            return not (t == "if" and tail & FALLBACK_WORDS)
    return False


def _commit_frame(before_clause: list[str], form: str, after_clause: list[str]) -> str | None:
    words = [t for t in before_clause if t != ","]
    command = _command_verb(words)
    if command is not None:
        # "I'm running rollout undo on checkout": the command verb carries the commitment (or the past tense).
        return _commit_frame(words[:command], _form(words[command]), after_clause)
    if form == "past":
        if any(_ends_with(words, f) or _ends_with(_strip_trailing(words), f) for f in JUST_FRAMES):
            return None
        stripped = _strip_trailing(words)
        if any(_ends_with(stripped, f) for f in PASSIVE_FRAMES if f[0] not in ("get", "gets", "getting")):
            return None
        if _get_construction(words):
            return None
        return "past"
    stripped = _strip_trailing(words)
    if not stripped:
        if form == "ing" and set(after_clause) & FINITE_WORDS:
            return "gerund subject"  # "scaling out just makes it worse"
        return None  # an imperative, or "rolling back auth now"
    if form == "ing":
        return None if any(_ends_with(stripped, f) for f in ING_FRAMES) else "no commitment"
    if any(_ends_with(stripped, f) for f in BASE_FRAMES):
        return None
    if stripped[-1] == "is" and _pseudo_cleft(stripped):
        return None
    return "no commitment"


def _command_verb(words: list[str]) -> int | None:
    """Index of "run"/"execute"/"type" a few words before the verb when only command words sit between."""
    for k in range(len(words) - 1, max(-1, len(words) - 5), -1):
        if words[k] in COMMAND_VERBS:
            between = words[k + 1:]
            if not set(between) & (NEGATORS | CONDITIONALS | DETERMINERS | {"to", "out", "of", "low", "into"}):
                return k
            return None
    return None


def _pseudo_cleft(words: list[str]) -> bool:
    text = " ".join(_strip_leading(words, FILLERS))
    return bool(PSEUDO_CLEFT_RE.match(text)) or bool(re.match(r"^(?:the )?(?:first|best|fastest|safest|right) (?:\S+ ){0,3}is$", text))


def _get_construction(words: list[str]) -> bool:
    """"let's get the flag turned off": a commitment with a past participle."""
    for i in range(len(words) - 1, max(-1, len(words) - 8), -1):
        if words[i] in ("get", "gets", "getting"):
            lead = _strip_trailing(words[:i])
            return not lead or any(_ends_with(lead, f) for f in BASE_FRAMES + ING_FRAMES)
    return False


def _strip_trailing(words: list[str]) -> list[str]:
    end = len(words)
    while end > 0 and words[end - 1] in SKIP_WORDS | {"and"}:
        end -= 1
    return words[:end]


def _ends_with(words: list[str], frame: tuple[str, ...]) -> bool:
    return len(words) >= len(frame) and tuple(words[-len(frame):]) == frame


def _at_clause_start(before_clause: list[str]) -> bool:
    return not _strip_trailing([t for t in before_clause if t != ","])


def _form(token: str) -> str:
    if token.endswith("ing") and token not in ("bring", "thing", "string", "ring"):
        return "ing"
    if (token.endswith("ed") and token not in NOT_PAST) or token in IRREGULAR_PAST:
        return "past"
    return "base"


def _noun_form(action: _Action, toks: list[str]) -> str | None:
    """"the rollback finished" is a subject; "kick off a rollback" has a light verb (head moves to it)."""
    c_start = action.clause[0]
    i = action.verb - 1
    while i >= c_start and toks[i] in ADJECTIVES:
        i -= 1
    after = toks[action.end] if action.end < action.clause[1] else None
    if i >= c_start and toks[i] in DETERMINERS:
        for j in range(i - 1, max(c_start - 1, i - 3), -1):
            if toks[j] in LIGHT_VERBS:
                action.head = j
                return "light"
            if j >= c_start + 1 and (toks[j - 1], toks[j]) in LIGHT_PHRASES:
                action.head = j - 1
                return "light"
        return "subject"
    if after in SUBJECT_FOLLOWERS and _form(toks[action.verb]) != "past":
        return "subject"
    return None


def _object_tokens(action: _Action, toks: list[str]) -> list[str]:
    """The words after the verb in its clause, up to a subordinator."""
    obj = []
    for t in toks[action.verb + 1: action.clause[1]]:
        if t in STOP_WORDS:
            break
        obj.append(t)
    return obj


def _content(words: Iterable[str]) -> list[str]:
    return [w for w in words if w not in FUNCTION_WORDS and w not in VAGUE_OBJECTS and w != ","
            and not re.fullmatch(r"\d+", w)]


def _target(obj: list[str], action: _Action, toks: list[str], sentences: list[_Sentence],
            context_words: list[list[str]], prefer: frozenset[str]) -> str | None:
    content = _content(obj)
    if _form(toks[action.verb]) == "past" and not content:
        # A passive commitment names its target before the verb: "the flag needs to be turned off".
        content = _content(toks[action.clause[0]: action.head])
        content = [w for w in content if w not in ("needs", "need", "has", "have", "must", "got", "get", "gets", "let")]
    if content:
        return " ".join(content[:5])
    if any(w in VAGUE_OBJECTS for w in obj):
        return None  # "restart everything" names no target, and borrowing one would invent it
    # A pronoun or nothing at all ("roll it back", "rollback, the auth service ..."): look around.
    found = _entity_elsewhere(action, sentences, prefer)
    for words in reversed(context_words):
        found = found or _entity_in(words, prefer)
    return found


def _entity_elsewhere(action: _Action, sentences: list[_Sentence], prefer: frozenset[str]) -> str | None:
    """A target named in another clause of the same utterance, nearest first, earlier before later."""
    spans = []
    for s_index, sentence in enumerate(sentences):
        for clause in sentence.clauses:
            if (s_index, clause) != (action.sentence, action.clause):
                spans.append((abs(s_index - action.sentence), s_index > action.sentence, sentence.tokens[clause[0]:clause[1]]))
    for _, _, words in sorted(spans, key=lambda item: (item[0], item[1])):
        entity = _entity_in(words, prefer)
        if entity:
            return entity
    return None


def _entity_in(words: list[str], prefer: frozenset[str] = frozenset()) -> str | None:
    """A short phrase around the first target-like word; one the verb prefers ("flag" for "turn off") wins."""
    found = []
    for i, w in enumerate(words):
        if w in ENTITY_WORDS or re.fullmatch(r"v\d[\d.]*|\d+\.\d+\.\d+\.\d+", w):
            phrase = _content(words[max(0, i - 2): i + 2])
            if phrase:
                found.append((w in prefer or bool(prefer and re.fullmatch(r"v\d[\d.]*", w) and "version" in prefer), phrase))
    if not found:
        return None
    return " ".join(next((p for preferred, p in found if preferred), found[0][1]))


def _resolve_kind(kind: str, words: list[str]) -> str | None:
    if not kind.startswith("@"):
        return kind
    ws = set(words)
    if kind == "@revert":
        if ws & {"flag", "flags", "toggle"}:
            return "flag_off"
        if ws & _STRONG_CONFIG_WORDS:
            return "config_revert"
        if ws & {"feature"}:
            return "flag_off"
        if ws & _CONFIG_WORDS and not (ws & _DEPLOY_WORDS or any(re.fullmatch(r"v\d[\d.]*", w) for w in ws)):
            return "config_revert"
        return "rollback"
    if kind == "@off":
        if ws & _FLAG_WORDS:
            return "flag_off"
        if ws & _SHED_WORDS:
            return "rate_limit"
        return "other"
    if kind == "@kill":
        if ws & {"flag", "flags", "feature", "toggle", "switch"}:
            return "flag_off"
        if ws & _SHED_WORDS:
            return "rate_limit"
        if ws & _RESTARTABLE:
            return "restart"
        if ws & _KILLABLE:
            return "other"
        return None
    if kind == "@pause":
        if ws & _DEPLOYISH:
            return "freeze_deploys"
        if ws & _SHED_WORDS:
            return "rate_limit"
        if ws & (_KILLABLE - {"connection", "connections", "session", "sessions"}):
            return "other"
        return None
    return None


# ---------------------------------------------------------------- other labels


def _sentence_labels(sentence: _Sentence, actions: list[_Action]) -> set[str]:
    text = sentence.text
    found: set[str] = set()
    asks = (sentence.question or sentence.question_piece or bool(_INFO_RE.search(text))
            or any(a.status == "question" for a in actions))
    checks = asks or bool(_CHECK_RE.search(text))
    # "should we roll back the auth deploy?" proposes; the deploy is its object, not a check.
    checks_system = checks and not sentence.proposal_question
    if _BLAST_RE.search(text) and (asks or re.search(r"\b(?:blast radius|scope|figure out|understand)\b", text)):
        found.add(lab.BLAST_RADIUS)
    if (_CHANGE_RE.search(text) and checks_system) or _ALWAYS_CHANGE_RE.search(text):
        found.add(lab.CHANGE_CHECK)
    if _SIGNAL_RE.search(_CHANGE_LOG_RE.sub(" ", text)) and checks_system:
        found.add(lab.SIGNAL_CHECK)
    if _HYPOTHESIS_RE.search(text) and not sentence.question:
        found.add(lab.HYPOTHESIS)
    if _COMMUNICATION_RE.search(text):
        found.add(lab.COMMUNICATION)
    if _ESCALATION_RE.search(text):
        found.add(lab.ESCALATION)
    if _POSTMORTEM_RE.search(text):
        found.add(lab.POSTMORTEM)
    if _BLAME_RE.search(text):
        found.add(lab.BLAME)
    proposes = any(a.proposal or a.status == "concrete" for a in actions)
    if asks and not proposes and not (found & {lab.BLAST_RADIUS, lab.CHANGE_CHECK, lab.SIGNAL_CHECK,
                                               lab.ESCALATION, lab.COMMUNICATION}):
        found.add(lab.DIAGNOSTIC_QUESTION)
    return found


# ---------------------------------------------------------------- entry points


def label_text(text: str, scenario=None, context: Sequence[str] = ()) -> Labelling:
    """Label one utterance's text; ``context`` is earlier utterances' text, oldest first.

    ``scenario`` (optional) lets the target match the scenario's mitigations,
    which fills ``mitigation_id`` and refines an "other" kind. ``context``
    resolves a pronoun target ("roll it back") and a bare "yes, do it" after
    a proposal.
    """
    sentences = _split_sentences(text)
    actions = _find_actions(sentences)
    context_words = [normalise(c).split() for c in context]
    for action in actions:
        _decide(action, sentences, context_words)
    actions = [a for a in actions if a.kind is not None]
    _affirmations(sentences, actions, context)

    result = Labelling()
    labels: set[str] = set()
    for s_index, sentence in enumerate(sentences):
        labels |= _sentence_labels(sentence, [a for a in actions if a.sentence == s_index])
    concrete = [a for a in actions if a.status == "concrete"]
    proposed = [a for a in actions if a.proposal]
    chosen = concrete[0] if concrete else (proposed[0] if proposed else None)
    if concrete:
        labels.add(lab.CONCRETE_MITIGATION)
        result.concrete = True
    if chosen is not None:
        result.mitigation_kind = chosen.kind
        result.target = chosen.target
        if scenario is not None:
            _match_scenario(result, chosen, text, scenario)
    result.mentioned_kinds = list(dict.fromkeys(a.kind for a in actions))
    result.reasons = [
        f"{a.kind} ({a.name!r}"
        + (f" -> {a.target!r}" if a.target else "")
        + f"): {'concrete' if a.status == 'concrete' else 'not concrete, ' + a.status}"
        for a in actions
    ]
    result.labels = [name for name in lab.LABELS if name in labels]
    return result


def asks_question(text: str) -> bool:
    """Whether the utterance asks something (by "?", word order or "can you tell me"), not only states a check.

    "Then I'll watch the error rate on the dashboard" is a signal check but no
    question; "which regions are affected," is a question without its "?".
    """
    return any(sentence.question or sentence.question_piece or bool(_INFO_RE.search(sentence.text))
               for sentence in _split_sentences(text))


def _affirmations(sentences: list[_Sentence], actions: list[_Action], context: Sequence[str]) -> None:
    """"should we roll back auth? yes, let's do it": the proposal becomes a commitment."""
    pattern = re.compile(r"^(?:(?:yes|yeah|ok|so|alright|right|then|and) )*(?:let us |i will |we will |i am going to )?"
                         r"(?:do (?:it|that)|go (?:ahead|for it)|go with (?:it|that))\b(?! (?:later|yet))")
    for s_index, sentence in enumerate(sentences):
        if not pattern.match(sentence.text) or sentence.question_mark:
            continue
        earlier = [a for a in actions if a.sentence < s_index and a.proposal and a.target]
        if earlier:
            earlier[-1].status = "concrete"
            return
        for text in reversed(list(context)[-1:]):
            previous = label_text(text)
            if previous.mitigation_kind and previous.target and not previous.concrete:
                actions.append(_Action(kind=previous.mitigation_kind, name="yes, do it", sentence=s_index, head=0,
                                       verb=0, end=0, clause=(0, 0), status="concrete", target=previous.target))
                return


def _match_scenario(result: Labelling, action: _Action, text: str, scenario) -> None:
    same_kind = [m for m in scenario.mitigations if m.kind == action.kind]
    scope = action.target or ""
    for pool in (same_kind, scenario.mitigations if action.kind == "other" else []):
        for m in pool:
            if m.targets and (mentions(scope, m.targets) or mentions(text, m.targets)):
                result.mitigation_id = m.id
                if action.kind == "other":
                    result.mitigation_kind = m.kind
                return


def label_utterances(utterances: list[Utterance], scenario=None) -> list[Utterance]:
    """Label the candidate's utterances in place (and return the list).

    Each candidate utterance gets ``labels``, ``mitigation_kind`` and
    ``concrete_mitigation``; the previous CONTEXT_UTTERANCES utterances (any
    speaker) within CONTEXT_WINDOW_S are its context for pronoun targets.
    """
    ordered = sorted(utterances, key=lambda u: u.start_s)
    concrete = 0
    for i, u in enumerate(ordered):
        if u.speaker != CANDIDATE:
            continue
        context = [p.text for p in ordered[max(0, i - CONTEXT_UTTERANCES): i] if u.start_s - p.end_s <= CONTEXT_WINDOW_S]
        result = label_text(u.text, scenario, context=context)
        u.labels = result.labels
        u.mitigation_kind = result.mitigation_kind
        u.concrete_mitigation = result.concrete
        u.mitigation_id = result.mitigation_id  # not a dataclass field: to_json stays the documented shape
        u.label_reasons = result.reasons
        concrete += result.concrete
    logger.info("labelled %d utterances: %d concrete mitigations", len(ordered), concrete)
    return utterances


def first_of(utterances: Iterable[Utterance], label: str, t0_s: float) -> Utterance | None:
    """The earliest utterance at or after ``t0_s`` carrying ``label`` (concrete_mitigation included)."""
    best = None
    for u in utterances:
        if u.onset_s < t0_s - ONSET_TOLERANCE_S:
            continue
        has = label in u.labels or (label == lab.CONCRETE_MITIGATION and u.concrete_mitigation)
        if has and (best is None or u.onset_s < best.onset_s):
            best = u
    return best
