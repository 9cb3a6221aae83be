"""What a web process would otherwise do on its first requests, done once at
boot, before it takes any (helpdesk/wsgi.py): compile every template, load
every language's translations, formats and reverse URL tables, build the
Markdown converter, then freeze what is left in the garbage collector.

Why (bench/TICKET_PAGE.md, "Fifth round"): a gunicorn worker's first agent
ticket page cost about four times a repeat view (template compilation and
the imports of the template tag libraries it triggers, translation
catalogues, the URL tables of the language), and it was the slow tail of
the page over HTTP. None of this reads the database or Redis, so a worker
boots with either down; nothing here changes what a page shows (the cached
template loader compiles the same templates on first use otherwise).

`gc.freeze()` moves every object alive after the warm-up (modules,
compiled templates, translation catalogues: ~170,000 objects) out of the
collector's generations: they live as long as the process, and a full
collection no longer walks them (one took ~100 ms of CPU on a loaded
machine). It also keeps their memory pages shared when a server forks
workers after loading the app (gunicorn --preload).
"""

import contextlib
import gc
from collections.abc import Iterator
from pathlib import Path

import django.forms
from django.conf import settings
from django.forms.renderers import get_default_renderer
from django.template import Engine, engines
from django.urls import NoReverseMatch, URLResolver, get_resolver, reverse
from django.utils import formats, translation


def template_names() -> list[str]:
    """Every template of the engine's DIRS (relative names, sorted)."""
    names: set[str] = set()
    for directory in Engine.get_default().dirs:
        root = Path(directory)
        names.update(str(p.relative_to(root)) for p in root.rglob("*.html"))
    return sorted(names)


def form_template_names() -> list[str]:
    """Django's own form and widget templates (the form renderer's engine)."""
    root = Path(django.forms.__file__).parent / "templates"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.html"))


def templates_compile() -> int:
    """Compile (and keep, through the cached loaders) every template of the
    project and every form/widget template; the number compiled. A template
    that does not compile is left to fail on its page, as it would without
    the warm-up."""
    done = 0
    for get_template, names in (
        (engines["django"].get_template, template_names()),
        (get_default_renderer().get_template, form_template_names()),
    ):
        for name in names:
            try:
                get_template(name)
            except Exception:  # noqa: S112 (the page reports it, as without the warm-up)
                continue
            done += 1
    return done


def _url_probes(resolver: URLResolver, namespace: str = "") -> Iterator[str]:
    """One URL name per namespace, e.g. "tickets:agent-ticket-list":
    reversing a namespaced name fills a resolver of its own for the
    namespace's prefix (django.urls.resolvers.get_ns_resolver)."""
    names = [key for key in resolver.reverse_dict if isinstance(key, str)]
    if names:
        yield namespace + names[0]
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _url_probes(pattern, inner)


def languages_load() -> None:
    """Translations, formats and the reverse URL table of every language."""
    for code, _ in settings.LANGUAGES:
        with translation.override(code):
            formats.get_format("DATE_FORMAT")
            for name in set(_url_probes(get_resolver())):
                # A name that takes arguments raises: its tables are filled all the same.
                with contextlib.suppress(NoReverseMatch):
                    reverse(name)


def markdown_load() -> None:
    """The Markdown converter of this thread (its extensions imported) and
    the nh3 cleaner: a gunicorn sync worker serves from this thread."""
    from helpdesk.lib.markdown import render_body

    render_body("*warm* [up](https://example.com)\n\n| a |\n|---|\n| b |\n\n```\nx\n```")


def process_warm() -> None:
    """All of the above, then a full collection and `gc.freeze()`."""
    templates_compile()
    languages_load()
    markdown_load()
    gc.collect()
    gc.freeze()
