from django import forms
from django.utils.translation import gettext_lazy as _

RATINGS = [(5, _("5 - Great")), (4, _("4 - Good")), (3, _("3 - Okay")), (2, _("2 - Poor")), (1, _("1 - Bad"))]


class CsatCommentForm(forms.Form):
    rating = forms.TypedChoiceField(choices=RATINGS, coerce=int, widget=forms.RadioSelect)
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))
