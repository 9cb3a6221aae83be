"""Knowledge-base forms: parse input only; rules live in services."""

from django import forms

from knowledge_base.models import Article, Audience, Category


class ArticleForm(forms.Form):
    title = forms.CharField(max_length=300)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 16}), required=False, max_length=200_000)
    category = forms.ModelChoiceField(queryset=Category.objects.all(), required=False)
    visibility = forms.ChoiceField(choices=Article.Visibility.choices, initial=Article.Visibility.PUBLIC)
    audience = forms.ChoiceField(choices=Audience.choices, initial=Audience.BOTH)
    tags = forms.CharField(max_length=1000, required=False, help_text="Separated by spaces or commas.")
    note = forms.CharField(max_length=200, required=False, label="Change note")


class FeedbackForm(forms.Form):
    helpful = forms.TypedChoiceField(choices=[("yes", "Yes"), ("no", "No")], coerce=lambda v: v == "yes")
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000)


class RestoreForm(forms.Form):
    version_id = forms.IntegerField(min_value=1)
