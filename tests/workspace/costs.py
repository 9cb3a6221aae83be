"""Load-independent cost probes shared by the rendering-cost tests: they wrap
Django's own methods (nothing of ours is replaced) and count."""

from collections import Counter

from django.template import base, loader_tags


def count_nodes(monkeypatch) -> Counter:
    """Template nodes rendered, by template name."""
    seen: Counter = Counter()
    original = base.Node.render_annotated

    def counting(self, context):
        seen[getattr(getattr(self, "origin", None), "template_name", None) or "?"] += 1
        return original(self, context)

    monkeypatch.setattr(base.Node, "render_annotated", counting)
    return seen


def count_includes(monkeypatch) -> Counter:
    """`{% include %}`s rendered, by the included template's name."""
    seen: Counter = Counter()
    original = loader_tags.IncludeNode.render

    def counting(self, context):
        seen[str(self.template.var)] += 1
        return original(self, context)

    monkeypatch.setattr(loader_tags.IncludeNode, "render", counting)
    return seen


def compiled_statements(monkeypatch) -> list[str]:
    """Statements the ORM compiled (Django's own compiler wrapped)."""
    from django.db.models.sql import compiler

    compiled: list[str] = []
    original = compiler.SQLCompiler.as_sql

    def counting(self, *args, **kwargs):
        sql, params = original(self, *args, **kwargs)
        compiled.append(sql)
        return sql, params

    monkeypatch.setattr(compiler.SQLCompiler, "as_sql", counting)
    return compiled


def forms_built(monkeypatch) -> Counter:
    """Forms constructed, by class name (Django's `BaseForm.__init__` wrapped)."""
    from django.forms import forms

    seen: Counter = Counter()
    original = forms.BaseForm.__init__

    def counting(self, *args, **kwargs):
        seen[type(self).__name__] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(forms.BaseForm, "__init__", counting)
    return seen
