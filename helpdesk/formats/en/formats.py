"""Date formats for English pages (docs/languages.md, Dates and numbers)."""

# Ticket lists, messages, timelines: "Dec 7, 2026 14:05".
SHORT_DATETIME_FORMAT = "M j, Y H:i"
