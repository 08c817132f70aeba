"""`python -m voice_interviewer` is the same as the `voice-interviewer` command."""

from voice_interviewer.cli import main

raise SystemExit(main())
