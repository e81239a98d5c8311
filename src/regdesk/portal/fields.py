"""Form fields for the kinds of field a regulation defines (text, choice, device, interval…).

``regulation_field`` turns one ``FieldSpec`` into a Django form field whose widget and checks
suit its kind; messages are in the user's language. The core's ``check_fields`` stays the
authority: these checks only catch what a browser gets wrong before the service is called.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator, URLValidator
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from regdesk.core.regulation import FieldKind, FieldSpec, local_text
from regdesk.directory.models import Device, Product

_PHONE = RegexValidator(
    r"^\+?[0-9 ()\-]{5,25}$",
    gettext_lazy("Enter a phone number: digits, spaces, +, - and parentheses."),
)
_VERSION = RegexValidator(
    r"^[0-9A-Za-z][0-9A-Za-z._\-+ ]{0,63}$",
    gettext_lazy("Enter a version such as 2404 or 7.1.3."),
)
WEB_ADDRESS = URLValidator(
    schemes=["http", "https"],
    message=gettext_lazy("Enter a web address starting with http:// or https://."),
)


class DeviceWidget(forms.MultiWidget):
    """A select of the organisation's devices, and a text box for one that is not listed."""

    template_name = "portal/widgets/device.html"

    def __init__(self, choices: Sequence[tuple[str, str]]) -> None:
        super().__init__(
            widgets=[forms.Select(choices=choices), forms.TextInput(attrs={"maxlength": 200})]
        )

    def decompress(self, value: Any) -> list[Any]:
        return [None, value] if value else [None, None]


class DeviceField(forms.MultiValueField):
    def __init__(self, devices: Sequence[Device], **kwargs: Any) -> None:
        self.devices = {str(d.pk): str(d) for d in devices}
        choices = [("", _("— choose a device —")), *self.devices.items()]
        fields = (
            forms.ChoiceField(choices=choices, required=False),
            forms.CharField(required=False, max_length=200),
        )
        super().__init__(
            fields=fields, require_all_fields=False, widget=DeviceWidget(choices), **kwargs
        )

    def compress(self, data_list: list[Any]) -> str:
        if not data_list:
            return ""
        picked, typed = [*data_list, None, None][:2]
        if picked:
            return self.devices.get(str(picked), "")
        return (typed or "").strip()


class LocalDateTimeField(forms.DateTimeField):
    """A ``datetime-local`` value read as wall-clock time in the customer's zone."""

    def __init__(self, zone: ZoneInfo, **kwargs: Any) -> None:
        self.zone = zone
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ValidationError(_("Enter a date and time."), code="invalid") from None
        if timezone.is_naive(moment):
            moment = moment.replace(tzinfo=self.zone)
        return moment


class IntervalWidget(forms.MultiWidget):
    template_name = "portal/widgets/interval.html"

    def __init__(self) -> None:
        local = {"type": "datetime-local"}
        super().__init__(
            widgets=[
                forms.DateTimeInput(attrs=local, format="%Y-%m-%dT%H:%M"),
                forms.DateTimeInput(attrs=local, format="%Y-%m-%dT%H:%M"),
            ]
        )

    def decompress(self, value: Any) -> list[Any]:
        if value and "/" in str(value):
            start, _sep, end = str(value).partition("/")
            return [start[:16], end[:16]]
        return [None, None]


class IntervalField(forms.MultiValueField):
    """Two wall-clock instants in the customer's zone, given to the ticket as "start/end"."""

    def __init__(self, zone: ZoneInfo, **kwargs: Any) -> None:
        fields = (LocalDateTimeField(zone), LocalDateTimeField(zone))
        super().__init__(fields=fields, widget=IntervalWidget(), **kwargs)

    def compress(self, data_list: list[Any]) -> str:
        if not data_list or not any(data_list):
            return ""
        start, end = [*data_list, None, None][:2]
        if start is None or end is None:
            raise ValidationError(_("Give both the start and the end."), code="incomplete")
        if end < start:
            raise ValidationError(_("The end is before the start."), code="order")
        return f"{start.isoformat()}/{end.isoformat()}"


def _number(value: str) -> None:
    try:
        float(value)
    except (TypeError, ValueError):
        raise ValidationError(_("Enter a number."), code="invalid") from None


def regulation_field(
    spec: FieldSpec,
    *,
    lang: str,
    zone: ZoneInfo,
    devices: Sequence[Device] = (),
    products: Sequence[Product] = (),
    versions: Sequence[str] = (),
) -> forms.Field:
    """The form field for one field of the regulation (required is set by the caller)."""
    label = local_text(spec.label, lang)
    help_text = local_text(spec.help, lang)
    common: dict[str, Any] = {"label": label, "help_text": help_text, "required": False}
    max_length = {"max_length": spec.max_length} if spec.max_length else {}
    kind = spec.kind
    choices = [(c.id, local_text(c.title, lang)) for c in spec.choices]
    if kind is FieldKind.TEXTAREA:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), **max_length, **common)
    if kind is FieldKind.CHOICE:
        return forms.ChoiceField(choices=[("", _("— choose —")), *choices], **common)
    if kind is FieldKind.MULTICHOICE:
        return forms.MultipleChoiceField(
            choices=choices, widget=forms.CheckboxSelectMultiple, **common
        )
    if kind is FieldKind.URL:
        return forms.CharField(
            widget=forms.URLInput(attrs={"placeholder": "https://"}),
            validators=[WEB_ADDRESS],
            max_length=spec.max_length or 2000,
            **common,
        )
    if kind is FieldKind.EMAIL:
        return forms.EmailField(**common)
    if kind is FieldKind.PHONE:
        return forms.CharField(
            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            validators=[_PHONE],
            **common,
        )
    if kind is FieldKind.NUMBER:
        return forms.CharField(
            widget=forms.NumberInput(attrs={"step": "any"}), validators=[_number], **common
        )
    if kind is FieldKind.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind is FieldKind.VERSION:
        attrs = {"list": f"versions-{spec.id}"} if versions else {}
        field = forms.CharField(
            widget=forms.TextInput(attrs=attrs), validators=[_VERSION], **max_length, **common
        )
        field.datalist = list(versions)  # type: ignore[attr-defined]
        return field
    if kind is FieldKind.PRODUCT and products:
        product_choices = [("", _("— choose a product —"))]
        product_choices += [(p.code, p.title) for p in products]
        return forms.ChoiceField(choices=product_choices, **common)
    if kind is FieldKind.DEVICE:
        if devices:
            common["help_text"] = help_text or _("Pick one of your devices, or type it.")
            return DeviceField(devices, **common)
        return forms.CharField(max_length=200, **common)
    if kind is FieldKind.SECRET:
        note = _("Stored encrypted, visible only to support.")
        common["help_text"] = f"{help_text} {note}".strip()
        return forms.CharField(
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
            **common,
        )
    if kind is FieldKind.TIME_INTERVAL:
        return IntervalField(zone, **common)
    return forms.CharField(**max_length, **common)
