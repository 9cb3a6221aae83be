from typing import Any

from django import template

from success.policy import success_viewer

register = template.Library()


@register.filter
def sees_customer_success(user: Any) -> bool:
    """The agent menu shows Customer success to those who may open it."""
    return success_viewer(user)
