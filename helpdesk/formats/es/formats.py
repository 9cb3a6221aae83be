"""Date formats for Spanish pages (docs/languages.md, Dates and numbers)."""

# Ticket lists, messages, timelines: "7 dic 2026, 14:05".
SHORT_DATETIME_FORMAT = "j M Y, H:i"
