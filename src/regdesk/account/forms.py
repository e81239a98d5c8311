from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from regdesk.api.models import Scope
from regdesk.desks.models import Desk


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("What uses this token."))
    scope = forms.ChoiceField(label=_("Scope"), choices=Scope.choices, initial=Scope.READ)
    desks = forms.ModelMultipleChoiceField(
        label=_("Desks"),
        queryset=Desk.objects.none(),
        required=False,
        help_text=_("Leave empty for every desk you use."),
    )
    expires_in_days = forms.IntegerField(
        label=_("Expires in (days)"),
        min_value=1,
        max_value=3650,
        required=False,
        initial=90,
        help_text=_("Leave empty for a token that does not expire."),
    )

    def __init__(self, *args: Any, desks: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if desks is not None:
            self.fields["desks"].queryset = desks

    def expires_at(self) -> Any:
        days = self.cleaned_data.get("expires_in_days")
        return timezone.now() + timedelta(days=days) if days else None
