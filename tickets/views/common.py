"""Role guards for the ticket views (shared with other apps via helpdesk.lib.access)."""

from helpdesk.lib.access import View, staff_required

__all__ = ["View", "staff_required"]
