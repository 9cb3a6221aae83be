from django import forms

RATINGS = [(5, "5 - Great"), (4, "4 - Good"), (3, "3 - Okay"), (2, "2 - Poor"), (1, "1 - Bad")]


class CsatCommentForm(forms.Form):
    rating = forms.TypedChoiceField(choices=RATINGS, coerce=int, widget=forms.RadioSelect)
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))
