"""`{% cache %}` that degrades to rendering when the cache is down.

Django's tag lets a cache error through, and our Redis cache raises on
purpose while its breaker is open (helpdesk/lib/cache.py: every cache user
has a fallback). For a fragment the fallback is the fragment itself: render
it uncached. Same syntax as `django.templatetags.cache`; load this library
instead of `cache`. docs/workspace-list.md, "Rendering cost of the list".
"""

from typing import Any

from django import template
from django.templatetags.cache import CacheNode, do_cache

from helpdesk.lib.cache import REDIS_DOWN_ERRORS

register = template.Library()


class FailSoftCacheNode(CacheNode):
    def render(self, context: Any) -> str:
        try:
            return str(super().render(context))
        except REDIS_DOWN_ERRORS:
            return str(self.nodelist.render(context))


@register.tag("cache")
def fail_soft_cache(parser: template.base.Parser, token: template.base.Token) -> FailSoftCacheNode:
    node = do_cache(parser, token)
    return FailSoftCacheNode(node.nodelist, node.expire_time_var, node.fragment_name, node.vary_on, node.cache_name)
