"""Knowledge-base forms: parse input only; rules live in services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from knowledge_base.models import Article, Audience, Category


class ArticleForm(forms.Form):
    title = forms.CharField(max_length=300, label=_("Title"))
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 16}), required=False, max_length=200_000, label=_("Body")
    )
    category = forms.ModelChoiceField(queryset=Category.objects.all(), required=False, label=_("Category"))
    visibility = forms.ChoiceField(
        choices=Article.Visibility.choices, initial=Article.Visibility.PUBLIC, label=_("Visibility")
    )
    audience = forms.ChoiceField(choices=Audience.choices, initial=Audience.BOTH, label=_("Audience"))
    tags = forms.CharField(
        max_length=1000, required=False, label=_("Tags"), help_text=_("Separated by spaces or commas.")
    )
    related = forms.ModelMultipleChoiceField(
        queryset=Article.objects.filter(status=Article.Status.PUBLISHED).order_by("title"),
        required=False,
        label=_("Related articles"),
        help_text=_("Shown under the article before the automatic ones (same tags or category)."),
    )
    note = forms.CharField(max_length=200, required=False, label=_("Change note"))


class TranslationForm(forms.Form):
    """An article's text in another language (docs/languages.md)."""

    title = forms.CharField(max_length=300, label=_("Title"))
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 16}), required=False, max_length=200_000, label=_("Text (Markdown)")
    )


class FeedbackForm(forms.Form):
    helpful = forms.TypedChoiceField(choices=[("yes", "Yes"), ("no", "No")], coerce=lambda v: v == "yes")
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000)


class RestoreForm(forms.Form):
    version_id = forms.IntegerField(min_value=1)


class CategoryForm(forms.Form):
    name = forms.CharField(max_length=200, label=_("Name"))
    slug = forms.SlugField(
        max_length=200, required=False, label=_("Slug"), help_text=_("Web address; from the name when empty.")
    )
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000, label=_("Description")
    )
    position = forms.IntegerField(min_value=0, max_value=10_000, initial=0, label=_("Position"))


class SynonymsForm(forms.Form):
    synonyms = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 16}),
        required=False,
        max_length=50_000,
        label=_("Synonyms"),
        help_text=_("One group per line, terms separated by commas, e.g. “refund, money back, reimbursement”."),
    )
