from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from surveys.services import LABELS, SCALES


class SurveyAnswerForm(forms.Form):
    """One answer: the value on the survey's scale and an optional comment."""

    value = forms.TypedChoiceField(coerce=int, widget=forms.RadioSelect, label=_("Your answer"))
    comment = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), label=_("Comment (optional)")
    )

    def __init__(self, *args: object, survey: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        _, low, high = SCALES[survey]
        labels = LABELS[survey]
        cast(forms.ChoiceField, self.fields["value"]).choices = [
            (v, f"{v} - {labels[v]}" if v in labels else str(v)) for v in range(high, low - 1, -1)
        ]
        self.survey = survey
