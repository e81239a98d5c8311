"""Forms of the customer portal. The new-request form is generated from the regulation.

The forms check what a browser can get wrong (types, required fields, the attachment policy)
with messages in the user's language; the ticket services stay the authority and their
``TicketError.errors`` are put back next to the fields (``add_ticket_errors``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from regdesk.core.intake import detect_format
from regdesk.core.regulation import AttachmentPolicy, FieldKind, FieldSpec, Regulation, local_text
from regdesk.directory.models import Device, PersonEmail, Product
from regdesk.portal.fields import WEB_ADDRESS, regulation_field
from regdesk.tickets.services import DESCRIPTION_FIELD, TicketError

FIELDS_PREFIX = "f"
PAGE_URL_FIELD = "page_url"
_FORMAT_NAMES = {"jpeg": "JPG", "jpg": "JPG"}


# --------------------------------------------------------------------------- sign-in


class SignInForm(auth_forms.AuthenticationForm):
    """Django's password sign-in; a customer may type a registered email instead of a
    username."""

    username = auth_forms.UsernameField(
        label=gettext_lazy("Email or username"),
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )

    def clean(self) -> dict[str, Any]:
        typed = (self.cleaned_data.get("username") or "").strip()
        if "@" in typed:
            registered = PersonEmail.objects.filter(address=typed.lower()).select_related(
                "person__user"
            )
            person_email = registered.first()
            if person_email is not None and person_email.person.user is not None:
                self.cleaned_data["username"] = person_email.person.user.get_username()
            else:
                users = list(User.objects.filter(email__iexact=typed)[:2])
                if len(users) == 1:
                    self.cleaned_data["username"] = users[0].get_username()
        return super().clean()


class SignInLinkForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("Your registered email address"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


# --------------------------------------------------------------------------- attachments


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def policy_formats(policy: AttachmentPolicy) -> list[str]:
    if policy.allowed == "any":
        return []
    return [_FORMAT_NAMES.get(a.lower(), a.upper()) for a in policy.allowed]


def policy_accept(policy: AttachmentPolicy) -> str:
    """The file input's ``accept`` hint (the server checks the content anyway)."""
    if policy.allowed == "any":
        return ""
    extensions = {"jpeg": ".jpg,.jpeg", "jpg": ".jpg,.jpeg"}
    return ",".join(extensions.get(a.lower(), f".{a.lower()}") for a in policy.allowed)


def attachment_errors(policy: AttachmentPolicy, uploads: Sequence[UploadedFile]) -> list[str]:
    """Per-file problems under the regulation's policy, as sentences for the user."""
    problems = []
    limit = int(policy.max_size_mb * 1024 * 1024)
    allowed = [a.lower() for a in policy.allowed] if policy.allowed != "any" else None
    for upload in uploads:
        name = upload.name or "attachment"
        size = upload.size or 0
        if size > limit:
            problems.append(
                _("%(name)s is %(size).1f MB, over the limit of %(limit)s MB per file.")
                % {"name": name, "size": size / 1048576, "limit": f"{policy.max_size_mb:g}"}
            )
            continue
        if allowed is None:
            continue
        upload.seek(0)
        kind = detect_format(upload.read(4096))
        upload.seek(0)
        if kind in allowed or (kind == "jpeg" and "jpg" in allowed):
            continue
        problems.append(
            _("%(name)s was not accepted: only %(formats)s files can be attached.")
            % {"name": name, "formats": ", ".join(policy_formats(policy))}
        )
    return problems


def _attachments_field(policy: AttachmentPolicy) -> MultipleFileField:
    attrs = {"multiple": True}
    accept = policy_accept(policy)
    if accept:
        attrs["accept"] = accept
    return MultipleFileField(
        label=gettext_lazy("Attachments"),
        required=False,
        widget=MultipleFileInput(attrs=attrs),
    )


def _describe_attachments(form: forms.Form) -> None:
    # The policy is written next to the input by the template, under this id.
    widget = form.fields["attachments"].widget
    widget.attrs["aria-describedby"] = f"{form['attachments'].auto_id}_helptext"


class _PolicyForm(forms.Form):
    policy: AttachmentPolicy

    def clean_attachments(self) -> list[UploadedFile]:
        uploads: list[UploadedFile] = self.cleaned_data.get("attachments") or []
        problems = attachment_errors(self.policy, uploads)
        if problems:
            raise ValidationError(problems)
        return uploads


# --------------------------------------------------------------------------- regulation fields


def _condition_value(spec: FieldSpec, raw: Any) -> Any:
    """A raw submitted value as the regulation's conditions compare it."""
    if spec.kind is FieldKind.MULTICHOICE:
        return [v for v in (raw or []) if v]
    if isinstance(raw, list | tuple):
        return next((v for v in raw if v not in (None, "")), "")
    return raw


class RequestFieldsForm(forms.Form):
    """The fields the regulation asks for a request type, honouring shown_when/required_when.

    Which fields are shown and required depends on the values given so far (``data`` when
    bound, otherwise ``initial``) together with ``known`` (values already on the ticket).
    """

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        regulation: Regulation,
        request_type: str,
        lang: str,
        zone: ZoneInfo,
        devices: Sequence[Device] = (),
        products: Sequence[Product] = (),
        versions: Sequence[str] = (),
        only: Iterable[str] | None = None,
        known: Mapping[str, Any] | None = None,
        force_required: bool = False,
        refresh_url: str = "",
        initial: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(data=data, initial=dict(initial or {}), prefix=FIELDS_PREFIX)
        self.request_type = request_type
        wanted = set(only) if only is not None else None
        specs = [
            spec
            for spec in regulation.fields_for(request_type)
            if spec.id != DESCRIPTION_FIELD and (wanted is None or spec.id in wanted)
        ]
        built = {
            spec.id: regulation_field(
                spec, lang=lang, zone=zone, devices=devices, products=products, versions=versions
            )
            for spec in specs
        }
        current: dict[str, Any] = dict(known or {})
        for spec in specs:
            if self.is_bound:
                raw = built[spec.id].widget.value_from_datadict(
                    self.data, self.files, self.add_prefix(spec.id)
                )
            else:
                raw = self.initial.get(spec.id)
            value = _condition_value(spec, raw)
            if value not in (None, "", []):
                current[spec.id] = value
        triggers = {
            condition.field
            for spec in regulation.fields_for(request_type)
            for condition in (spec.shown_when, spec.required_when)
            if condition is not None and condition.field
        }
        every = regulation.fields_for(request_type)
        ids = [spec.id for spec in every]
        self._description_at = (
            ids.index(DESCRIPTION_FIELD) if DESCRIPTION_FIELD in ids else len(ids)
        )
        self._position = {spec_id: n for n, spec_id in enumerate(ids)}
        self.specs: list[FieldSpec] = []
        for spec in specs:
            # Fields support asked for are shown whatever the conditions say.
            if not force_required and not spec.is_shown(request_type, current):
                continue
            field = built[spec.id]
            field.required = force_required or spec.is_required(request_type, current)
            if refresh_url and spec.id in triggers:
                field.widget.attrs.update(
                    {
                        "hx-post": refresh_url,
                        "hx-trigger": "change",
                        "hx-target": "#request-details",
                        "hx-include": "closest form",
                    }
                )
            self.fields[spec.id] = field
            self.specs.append(spec)

    @property
    def before_description(self) -> list[forms.BoundField]:
        """Fields the regulation lists before its description (the message goes after them)."""
        return [self[s.id] for s in self.specs if self._position[s.id] < self._description_at]

    @property
    def after_description(self) -> list[forms.BoundField]:
        return [self[s.id] for s in self.specs if self._position[s.id] > self._description_at]

    @property
    def has_secrets(self) -> bool:
        return any(spec.kind is FieldKind.SECRET for spec in self.specs)

    def field_values(self) -> dict[str, Any]:
        """The cleaned, non-empty values keyed by the regulation's field ids."""
        values: dict[str, Any] = {}
        for spec in self.specs:
            value = self.cleaned_data.get(spec.id)
            if value in (None, "", [], {}):
                continue
            if hasattr(value, "isoformat"):
                value = value.isoformat()
            values[spec.id] = value
        return values


# --------------------------------------------------------------------------- the request


class RequestForm(_PolicyForm):
    """Request type, subject, the message (the regulation's description), the proposed
    priority when the requester sets it, attachments and the page the help button was on."""

    request_type = forms.ChoiceField(
        label=gettext_lazy("What is your request about?"), widget=forms.RadioSelect
    )
    subject = forms.CharField(
        label=gettext_lazy("Subject"),
        max_length=300,
        help_text=gettext_lazy("A short summary, for example “Cannot export the March report”."),
    )
    body = forms.CharField(label=gettext_lazy("Message"), widget=forms.Textarea(attrs={"rows": 8}))
    proposed_priority = forms.ChoiceField(
        label=gettext_lazy("Priority"), widget=forms.RadioSelect, required=False
    )
    attachments = forms.Field(required=False)  # replaced in __init__
    page = forms.CharField(required=False, widget=forms.HiddenInput, max_length=2000)

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        *,
        regulation: Regulation,
        request_type: str,
        lang: str,
        refresh_url: str = "",
        initial: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(data=data, files=files, initial=dict(initial or {}))
        self.regulation = regulation
        self.policy = regulation.attachments
        self.lang = lang
        types = regulation.request_types
        self.fields["request_type"].choices = [(t.id, local_text(t.title, lang)) for t in types]
        self.type_descriptions = {t.id: local_text(t.description, lang) for t in types}
        if refresh_url:
            self.fields["request_type"].widget.attrs.update(
                {
                    "hx-post": refresh_url,
                    "hx-trigger": "change",
                    "hx-target": "#request-details",
                    "hx-include": "closest form",
                }
            )
        specs = {s.id: s for s in regulation.fields_for(request_type)} if request_type else {}
        description = specs.get(DESCRIPTION_FIELD)
        if description is not None:
            self.fields["body"].label = local_text(description.label, lang)
            self.fields["body"].help_text = local_text(description.help, lang)
        else:
            self.fields["body"].help_text = _(
                "Describe the request: what happened, what you expected and what you tried."
            )
        self.page_in_field = PAGE_URL_FIELD in specs
        if self.page_in_field:
            del self.fields["page"]
        if regulation.requester_sets_priority:
            field = self.fields["proposed_priority"]
            field.required = True
            field.choices = [(p.id, local_text(p.title, lang)) for p in regulation.priorities]
            self.priority_help = {
                p.id: [
                    text
                    for text in [
                        local_text(p.description, lang),
                        *(local_text(c, lang) for c in p.criteria),
                    ]
                    if text
                ]
                for p in regulation.priorities
            }
            if request_type and not self.is_bound and not self.initial.get("proposed_priority"):
                try:
                    rtype = regulation.request_type(request_type)
                except KeyError:
                    rtype = None
                self.initial["proposed_priority"] = (
                    rtype.default_priority if rtype and rtype.default_priority else None
                ) or regulation.default_priority
        else:
            del self.fields["proposed_priority"]
            self.priority_help = {}
        self.fields["attachments"] = _attachments_field(self.policy)
        self.attachment_formats = policy_formats(self.policy)
        _describe_attachments(self)

    def type_options(self) -> list[tuple[Any, str]]:
        """(radio, description) per request type, for the template."""
        return [
            (radio, self.type_descriptions.get(str(radio.data["value"]), ""))
            for radio in self["request_type"].subwidgets
        ]

    def priority_options(self) -> list[tuple[Any, list[str]]]:
        """(radio, description and criteria) per priority, for the template."""
        if "proposed_priority" not in self.fields:
            return []
        return [
            (radio, self.priority_help.get(str(radio.data["value"]), []))
            for radio in self["proposed_priority"].subwidgets
        ]

    def clean_page(self) -> str:
        page = (self.cleaned_data.get("page") or "").strip()
        try:
            WEB_ADDRESS(page)
        except ValidationError:
            return ""
        return page

    def message_body(self) -> str:
        """The message, with the page the help button was pressed on when no field keeps it."""
        body: str = self.cleaned_data["body"].strip()
        page = self.cleaned_data.get("page") or ""
        if page:
            body += "\n\n" + _("Opened from: %(url)s") % {"url": page}
        return body


def initial_from(
    query: Mapping[str, Any], *, regulation: Regulation, request_type: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Initial values of the request form and its fields form from what a browser sent.

    Used when the form is shown again without being submitted (another request type picked,
    a condition changed, or the help button's ``?page=``): what was typed is kept, and no
    errors are shown yet. Secrets and files are never echoed back.
    """
    getlist = getattr(query, "getlist", lambda key: [query[key]] if key in query else [])
    main = {
        key: query[key]
        for key in ("request_type", "subject", "body", "proposed_priority", "page")
        if query.get(key)
    }
    fields: dict[str, Any] = {}
    specs = regulation.fields_for(request_type) if request_type else []
    for spec in specs:
        key = f"{FIELDS_PREFIX}-{spec.id}"
        if spec.kind is FieldKind.SECRET:
            continue
        if spec.kind is FieldKind.MULTICHOICE:
            chosen = [v for v in getlist(key) if v]
            if chosen:
                fields[spec.id] = chosen
        elif spec.kind is FieldKind.TIME_INTERVAL:
            start, end = query.get(f"{key}_0"), query.get(f"{key}_1")
            if start or end:
                fields[spec.id] = f"{start or ''}/{end or ''}"
        elif spec.kind is FieldKind.DEVICE and (f"{key}_0" in query or f"{key}_1" in query):
            fields[spec.id] = [query.get(f"{key}_0"), query.get(f"{key}_1")]
        elif query.get(key):
            fields[spec.id] = query[key]
    page = str(query.get("page") or "")
    if PAGE_URL_FIELD in {s.id for s in specs} and page and not fields.get(PAGE_URL_FIELD):
        fields[PAGE_URL_FIELD] = page
    return main, fields


def add_ticket_errors(
    error: TicketError, *, main: forms.Form, fields: forms.Form | None = None
) -> list[str]:
    """Put a TicketError's messages next to their fields; return the ones that belong to none.

    Keys are the services' own (subject, body, priority, …), the regulation's field ids, or the
    names of refused attachments.
    """
    aliases = {DESCRIPTION_FIELD: "body", "priority": "proposed_priority"}
    files = main.files.getlist("attachments") if hasattr(main.files, "getlist") else []
    names = {getattr(f, "name", "") for f in files}
    leftover = []
    for key, message in error.errors.items():
        target = aliases.get(key, key)
        if fields is not None and key in fields.fields:
            fields.add_error(key, message)
        elif target in main.fields:
            main.add_error(target, message)
        elif key in names and "attachments" in main.fields:
            main.add_error("attachments", message)
        else:
            leftover.append(message)
    if not error.errors:
        leftover.append(error.message)
    return leftover


# --------------------------------------------------------------------------- the ticket page


class ReplyForm(_PolicyForm):
    body = forms.CharField(
        label=gettext_lazy("Your reply"), widget=forms.Textarea(attrs={"rows": 5})
    )
    attachments = forms.Field(required=False)

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        *,
        policy: AttachmentPolicy,
    ) -> None:
        super().__init__(data=data, files=files, prefix="reply")
        self.policy = policy
        self.fields["attachments"] = _attachments_field(policy)
        self.attachment_formats = policy_formats(policy)
        _describe_attachments(self)


class MissingInfoForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Message to support"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(
        self, data: Mapping[str, Any] | None = None, *, body_required: bool = False
    ) -> None:
        super().__init__(data=data, prefix="missing")
        if body_required:
            self.fields["body"].required = True
            self.fields["body"].label = _("Describe the request")
