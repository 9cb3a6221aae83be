"""Date formats for German pages (docs/languages.md, Dates and numbers)."""

# Ticket lists, messages, timelines: "7. Dez. 2026, 14:05".
SHORT_DATETIME_FORMAT = "j. M Y, H:i"
