"""Knowledge base models (see the knowledge-base issue)."""
