from django import forms


class EraseConfirmForm(forms.Form):
    confirm_email = forms.CharField(
        label="Type the person's e-mail address to confirm",
        max_length=320,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
