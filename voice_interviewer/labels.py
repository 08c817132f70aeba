"""The utterance labels and mitigation kinds shared by analysis, scenarios and reports."""

CONCRETE_MITIGATION = "concrete_mitigation"
BLAST_RADIUS = "blast_radius"  # who/what/where is affected
CHANGE_CHECK = "change_check"  # what changed, recent deploys
SIGNAL_CHECK = "signal_check"  # dashboards, metrics, logs, health
DIAGNOSTIC_QUESTION = "diagnostic_question"  # any other question about the system
HYPOTHESIS = "hypothesis"
COMMUNICATION = "communication"  # status update, incident channel, comms
ESCALATION = "escalation"  # paging someone, declaring an incident
POSTMORTEM = "postmortem"  # timeline, impact, root cause, follow-ups
BLAME = "blame"

LABELS = (
    CONCRETE_MITIGATION,
    BLAST_RADIUS,
    CHANGE_CHECK,
    SIGNAL_CHECK,
    DIAGNOSTIC_QUESTION,
    HYPOTHESIS,
    COMMUNICATION,
    ESCALATION,
    POSTMORTEM,
    BLAME,
)

# Kinds of concrete mitigation, as the replay issue lists them.
MITIGATION_KINDS = (
    "rollback",
    "flag_off",
    "config_revert",
    "failover",  # failover or drain
    "scale_out",
    "restart",
    "rate_limit",  # rate-limit or shed load
    "block",
    "restore",
    "freeze_deploys",
    "other",
)

# Postmortem elements a complete blameless write-up carries.
POSTMORTEM_ELEMENTS = ("timeline", "impact", "root_cause", "follow_ups")
