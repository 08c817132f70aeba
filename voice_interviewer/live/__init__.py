"""Live practice: the microphone, the interviewer's voice, and the loop between them.

    devices   one audio interface (AudioInput / AudioOutput) with three
              implementations: sounddevice, files, an in-process virtual pair
    tts       Piper speech for the interviewer, precomputed per scripted line
    textnorm  spell engineering jargon ("5xx", "p99", "k8s") the way people say it
    aec       WebRTC echo cancelling (livekit's AudioProcessingModule) and
              the transcript-level echo guard
    turns     Silero VAD segmentation and end-of-turn decisions
    practice  the conversation loop behind ``voice-interviewer practice``
    screen    the terminal view

All analysis audio is float32 mono at :data:`devices.SAMPLE_RATE` (16 kHz);
devices convert to and from their native rate at the edge.
"""
