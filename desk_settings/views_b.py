"""Settings part B (macros, routing rules, saved views, agents, organisations):
views filled in by its own branch; kept separate so both branches merge cleanly."""
