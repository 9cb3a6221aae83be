"""Fragment caches of the agent pages: `{% cache %}` that degrades to rendering
when Redis is down and keeps a copy in the process, and `{% memo %}` for the
page chrome (menu, head, language switcher), kept in the process only.

Django's `{% cache %}` lets a cache error through, and our Redis cache raises
on purpose while its breaker is open (helpdesk/lib/cache.py: every cache user
has a fallback). For a fragment the fallback is the fragment itself: render
it uncached. Same syntax as `django.templatetags.cache`; load this library
instead of `cache`.

Both tags are for fragments whose markup is a function of their key alone
(content-addressed): the `{% cache %}` keys here are digests of everything
the fragment shows (tickets/views/fragments.py, list_rows.form_fragment_key),
and a `{% memo %}` key is the language, the script prefix and the values
named in the tag. Such an entry never needs invalidating: a change of role,
queue or language makes another key. So a process keeps what it rendered
(`LOCAL`, bounded, least recently used first out) and asks Redis only for
what it has not seen: no round trip on the common path, nothing lost with
Redis down. docs/workspace-list.md, "Rendering cost of the list".
"""

import threading
from collections import OrderedDict
from typing import Any

from django import template
from django.core.cache.utils import make_template_fragment_key
from django.core.signals import setting_changed
from django.templatetags.cache import CacheNode, do_cache
from django.urls import get_script_prefix, get_urlconf
from django.utils.translation import get_language

from helpdesk.lib.cache import REDIS_DOWN_ERRORS

register = template.Library()


class LocalFragments:
    """Rendered fragments of this process by key, at most `size`, LRU."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Any, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> str | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def set(self, key: Any, value: str) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self, **_: Any) -> None:
        with self._lock:
            self._items.clear()


LOCAL = LocalFragments(512)
# Settings a test overrides (languages, URLs, static storage) change what a key renders to.
setting_changed.connect(LOCAL.clear, dispatch_uid="fragment_cache_local_clear")


class FailSoftCacheNode(CacheNode):
    def render(self, context: Any) -> str:
        timeout = self.expire_time_var.resolve(context)
        if timeout is not None and int(timeout) <= 0:
            # Not to be cached (a bound form: its errors are not in the key).
            return str(self.nodelist.render(context))
        key = make_template_fragment_key(self.fragment_name, [var.resolve(context) for var in self.vary_on])
        value = LOCAL.get(key)
        if value is None:
            try:
                value = str(super().render(context))
            except REDIS_DOWN_ERRORS:
                value = str(self.nodelist.render(context))
            LOCAL.set(key, value)
        return value


@register.tag("cache")
def fail_soft_cache(parser: template.base.Parser, token: template.base.Token) -> FailSoftCacheNode:
    node = do_cache(parser, token)
    return FailSoftCacheNode(node.nodelist, node.expire_time_var, node.fragment_name, node.vary_on, node.cache_name)


class MemoNode(template.Node):
    def __init__(
        self,
        nodelist: template.NodeList,
        name: str,
        vary_on: list[template.base.FilterExpression],
        skip: template.base.FilterExpression | None = None,
    ):
        self.nodelist = nodelist
        self.name = name
        self.vary_on = vary_on
        self.skip = skip

    def render(self, context: Any) -> str:
        if self.skip is not None and self.skip.resolve(context):
            # e.g. a bound form: its values and errors are in no key.
            return str(self.nodelist.render(context))
        key = (
            "memo",
            self.name,
            get_language(),
            get_script_prefix(),
            get_urlconf(),
            *(var.resolve(context) for var in self.vary_on),
        )
        value = LOCAL.get(key)
        if value is None:
            value = str(self.nodelist.render(context))
            LOCAL.set(key, value)
        return value


@register.tag("memo")
def memo(parser: template.base.Parser, token: template.base.Token) -> MemoNode:
    """`{% memo "name" var1 var2 %}...{% endmemo %}`: the enclosed markup,
    rendered once per process for each (language, script prefix, URLconf,
    var1, var2, ...). Everything inside must depend on nothing else: no
    CSRF token, no request path, no user field that is not a vary value.
    A last `skip=expr` renders the markup afresh, unkept, whenever `expr`
    is true (`skip=form.is_bound`: an unbound form's fields are the same
    for everyone, a bound one shows what was typed and its errors)."""
    bits = token.split_contents()
    if len(bits) < 2 or bits[1][0] not in "\"'" or bits[1][-1] != bits[1][0]:
        raise template.TemplateSyntaxError("{% memo %} takes a quoted name, then the values it varies on")
    skip = None
    if bits[-1].startswith("skip="):
        skip = parser.compile_filter(bits.pop()[len("skip=") :])
    nodelist = parser.parse(("endmemo",))
    parser.delete_first_token()
    return MemoNode(nodelist, bits[1][1:-1], [parser.compile_filter(b) for b in bits[2:]], skip)
