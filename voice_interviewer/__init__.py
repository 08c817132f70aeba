"""voice-interviewer: rehearse the incident-response interview out loud.

Modules, in pipeline order (see docs/ARCHITECTURE.md):

    audio_io     decode any recording to 16 kHz mono float32; incremental WAV
    stt          faster-whisper transcription with word timestamps
    onset        check word onsets against the audio's own energy
    transcripts  read WebVTT / SRT transcripts a user already has
    analysis     label utterances; find concrete mitigations
    rubric       score the five dimensions with quoted evidence
    scenario     the scenario file format, validated on load
    director     the scenario state machine: what the interviewer does next
    voice        how it is said: scripted lines or an LLM, guarded
    session      the session folder: events.jsonl, tracks, meta.json
    report       report.json / report.md (report_html for report.html)
    history      the SQLite history of scored attempts
    live         microphone, turn-taking, TTS playback, echo cancelling
    cli          the `voice-interviewer` command
"""

__version__ = "0.1.0"
