"""Parsing the workspace's input. Choices come from the regulation governing the ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from regdesk.core.loader import RegulationError, load_regulation_text
from regdesk.core.regulation import FieldKind, Regulation, TargetKind, local_text
from regdesk.desks.models import Desk
from regdesk.tickets.models import OPEN_STATUSES, Status, Ticket
from regdesk.tickets.services import DESCRIPTION_FIELD
from regdesk.workspace.selectors import QueueFilters


def _lang() -> str:
    return get_language() or "en"


def _blank(label: Any) -> list[tuple[str, Any]]:
    return [("", label)]


# --------------------------------------------------------------------------- queue filters


class QueueFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label=_("Search"))
    desk = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label=_("Desk"))
    status = forms.ChoiceField(required=False, label=_("Status"))
    priority = forms.ChoiceField(required=False, label=_("Priority"))
    team = forms.ChoiceField(required=False, label=_("Team"))
    line = forms.ChoiceField(required=False, label=_("Line"))
    assignee = forms.ChoiceField(required=False, label=_("Assignee"))
    type = forms.ChoiceField(required=False, label=_("Request type"))
    channel = forms.ChoiceField(required=False, label=_("Channel"))

    def __init__(
        self,
        data: Any,
        *,
        desks: list[Desk],
        regulations: list[Regulation],
        agents: list[User],
    ) -> None:
        super().__init__(data)
        lang = _lang()

        def collect(items: Any) -> list[tuple[str, str]]:
            seen: dict[str, str] = {}
            for item in items:
                seen.setdefault(item.id, local_text(item.title, lang) or item.id)
            return sorted(seen.items(), key=lambda pair: pair[1].lower())

        fields = self.fields
        fields["desk"].choices = _blank(_("any desk")) + [(d.pk, d.name) for d in desks]  # type: ignore[attr-defined]
        fields["status"].choices = _blank(_("any status")) + [  # type: ignore[attr-defined]
            (s.value, s.label)
            for s in OPEN_STATUSES  # the queues hold open tickets only
        ]
        every = {
            "priority": [p for r in regulations for p in r.priorities],
            "team": [u for r in regulations for u in r.teams],
            "line": [u for r in regulations for u in r.lines],
            "type": [t for r in regulations for t in r.request_types],
            "channel": [c for r in regulations for c in r.channels],
        }
        empty = {
            "priority": _("any priority"),
            "team": _("any team"),
            "line": _("any line"),
            "type": _("any type"),
            "channel": _("any channel"),
        }
        for name, items in every.items():
            fields[name].choices = _blank(empty[name]) + collect(items)  # type: ignore[attr-defined]
        fields["assignee"].choices = [  # type: ignore[attr-defined]
            ("", _("anyone")),
            ("me", _("me")),
            ("none", _("nobody")),
            *[(str(u.pk), u.get_full_name() or u.get_username()) for u in agents],
        ]
        # A filter with a single possible value only takes room.
        for name in ["desk", *every]:
            if len(fields[name].choices) <= 2:  # type: ignore[attr-defined]
                fields[name].widget = forms.HiddenInput()

    def filters(self) -> QueueFilters:
        """The valid part of the filters: a stale or forged value is ignored, not an error."""
        self.is_valid()
        data = self.cleaned_data
        return QueueFilters(
            desk=data.get("desk"),
            status=data.get("status") or "",
            priority=data.get("priority") or "",
            team=data.get("team") or "",
            line=data.get("line") or "",
            assignee=data.get("assignee") or "",
            request_type=data.get("type") or "",
            channel=data.get("channel") or "",
            text=data.get("q") or "",
        )

    @property
    def active(self) -> bool:
        return any(v for k, v in self.data.items() if k not in ("q", "after"))


# --------------------------------------------------------------------------- ticket actions


class TicketForm(forms.Form):
    """An action form whose choices depend on the ticket's regulation."""

    def __init__(self, data: Any = None, files: Any = None, *, ticket: Ticket, **kwargs: Any):
        super().__init__(data, files, **kwargs)
        self.ticket = ticket
        self.regulation = ticket.regulation_version.regulation
        self.lang = _lang()
        self.setup()

    def setup(self) -> None:
        pass


class EmptyForm(TicketForm):
    pass


class AssignForm(TicketForm):
    assignee = forms.ChoiceField(label=_("Assign to"), required=False)

    def __init__(self, *args: Any, agents: list[User], **kwargs: Any) -> None:
        self.agents = {str(u.pk): u for u in agents}
        super().__init__(*args, **kwargs)

    def setup(self) -> None:
        self.fields["assignee"].choices = [  # type: ignore[attr-defined]
            ("", _("nobody")),
            *[(pk, u.get_full_name() or u.get_username()) for pk, u in self.agents.items()],
        ]
        self.fields["assignee"].initial = str(self.ticket.assignee_id or "")

    def assignee_user(self) -> User | None:
        return self.agents.get(self.cleaned_data["assignee"])


class PriorityForm(TicketForm):
    priority = forms.ChoiceField(label=_("Priority"))
    reason = forms.CharField(label=_("Reason"), max_length=500)

    def setup(self) -> None:
        self.fields["priority"].choices = [  # type: ignore[attr-defined]
            (p.id, local_text(p.title, self.lang) or p.id) for p in self.regulation.priorities
        ]
        self.fields["priority"].initial = self.ticket.priority


class TeamForm(TicketForm):
    team = forms.ChoiceField(label=_("Team"), required=False)

    def setup(self) -> None:
        self.fields["team"].choices = _blank(_("no team")) + [  # type: ignore[attr-defined]
            (u.id, local_text(u.title, self.lang) or u.id) for u in self.regulation.teams
        ]
        self.fields["team"].initial = self.ticket.team


class LineForm(TicketForm):
    line = forms.ChoiceField(label=_("Line"), required=False)

    def setup(self) -> None:
        self.fields["line"].choices = _blank(_("no line")) + [  # type: ignore[attr-defined]
            (u.id, local_text(u.title, self.lang) or u.id) for u in self.regulation.lines
        ]
        self.fields["line"].initial = self.ticket.line


def _field_choices(ticket: Ticket, regulation: Regulation, lang: str) -> list[tuple[str, str]]:
    try:
        specs = regulation.fields_for(ticket.request_type)
    except KeyError:
        return []
    return [(s.id, local_text(s.label, lang) or s.id) for s in specs]


class ReturnForm(TicketForm):
    missing = forms.MultipleChoiceField(
        label=_("Ask for"), required=False, widget=forms.CheckboxSelectMultiple
    )
    body = forms.CharField(label=_("Message"), required=False, widget=forms.Textarea)

    def setup(self) -> None:
        self.fields["missing"].choices = _field_choices(  # type: ignore[attr-defined]
            self.ticket, self.regulation, self.lang
        )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)] if data else []


REPLY_STATUSES = (
    Status.ANSWERED,
    Status.ACCEPTED,
    Status.WAITING_FOR_CUSTOMER,
    Status.RESOLVED,
)


class ReplyForm(TicketForm):
    body = forms.CharField(label=_("Reply to the customer"), widget=forms.Textarea)
    status_after = forms.ChoiceField(
        label=_("Then set status"),
        choices=[(s.value, s.label) for s in REPLY_STATUSES],
        initial=Status.ANSWERED.value,
    )
    attachments = MultipleFileField(label=_("Attachments"), required=False)


class NoteForm(TicketForm):
    body = forms.CharField(label=_("Internal note"), widget=forms.Textarea)


class RefuseForm(TicketForm):
    reason = forms.ChoiceField(label=_("Reason"))
    body = forms.CharField(
        label=_("Message to the customer"), required=False, widget=forms.Textarea
    )

    def setup(self) -> None:
        reasons = [
            (r.id, local_text(r.title, self.lang) or r.id) for r in self.regulation.refusal_reasons
        ]
        self.fields["reason"].choices = reasons or [("other", _("Other"))]  # type: ignore[attr-defined]


class SplitForm(TicketForm):
    """One or more parts, each a subject and a text (repeated ``subject``/``body`` inputs)."""

    @property
    def entered_parts(self) -> list[tuple[str, str]]:
        """The parts as typed (to show them again after an error), at least one."""
        if not self.data:
            return [("", "")]
        subjects, bodies = self.data.getlist("subject"), self.data.getlist("body")
        return list(zip(subjects, bodies, strict=False)) or [("", "")]

    def clean(self) -> dict[str, Any]:
        parts = []
        for subject, body in self.entered_parts:
            if not subject.strip() and not body.strip():
                continue
            if not subject.strip() or not body.strip():
                raise forms.ValidationError(_("Every part needs a subject and a text."))
            parts.append((subject.strip(), body.strip()))
        if not parts:
            raise forms.ValidationError(_("Give at least one part to split off."))
        self.cleaned_data["parts"] = parts
        return self.cleaned_data


class MergeForm(TicketForm):
    target = forms.CharField(label=_("Merge into ticket number"), max_length=32)

    def clean_target(self) -> str:
        return str(self.cleaned_data["target"]).strip().upper()


class AgreeTargetForm(TicketForm):
    clock = forms.ChoiceField(label=_("Clock"))
    hours = forms.FloatField(label=_("Business hours"), min_value=0.1, max_value=10_000)

    def setup(self) -> None:
        agreed = [
            (clock.value, local_text(spec.title, self.lang) or clock.value)
            for clock, spec in self.regulation.clocks.items()
            if any(rule.kind is TargetKind.AGREED for rule in spec.targets)
        ]
        self.fields["clock"].choices = agreed  # type: ignore[attr-defined]


class FieldsForm(TicketForm):
    """The request type's fields, one input each; secrets only change when typed."""

    def setup(self) -> None:
        try:
            specs = self.regulation.fields_for(self.ticket.request_type)
        except KeyError:
            specs = []
        self.specs = [s for s in specs if s.id != DESCRIPTION_FIELD]
        for spec in self.specs:
            label = local_text(spec.label, self.lang) or spec.id
            if spec.kind is FieldKind.MULTICHOICE:
                self.fields[spec.id] = forms.MultipleChoiceField(
                    label=label,
                    required=False,
                    choices=[(c.id, local_text(c.title, self.lang)) for c in spec.choices],
                )
            elif spec.kind is FieldKind.CHOICE:
                self.fields[spec.id] = forms.ChoiceField(
                    label=label,
                    required=False,
                    choices=_blank("—")
                    + [(c.id, local_text(c.title, self.lang)) for c in spec.choices],
                )
            else:
                self.fields[spec.id] = forms.CharField(
                    label=label,
                    required=False,
                    widget=forms.PasswordInput if spec.kind is FieldKind.SECRET else None,
                )
            if spec.kind is not FieldKind.SECRET:
                self.fields[spec.id].initial = (self.ticket.fields or {}).get(spec.id)

    def changes(self) -> dict[str, Any]:
        """Values to give the service: every shown field, secrets only when one was typed."""
        values: dict[str, Any] = {}
        for spec in self.specs:
            value = self.cleaned_data.get(spec.id)
            if spec.kind is FieldKind.SECRET and not value:
                continue
            values[spec.id] = value
        return values


# --------------------------------------------------------------------------- regulations


class RegulationUploadForm(forms.Form):
    source = forms.CharField(
        label=_("Regulation YAML"), required=False, widget=forms.Textarea(attrs={"rows": 18})
    )
    file = forms.FileField(label=_("or a file"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload is not None:
            try:
                data["source"] = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise forms.ValidationError(_("The file is not UTF-8 text.")) from None
        if not (data.get("source") or "").strip():
            raise forms.ValidationError(_("Paste the regulation or choose a file."))
        # A browser sends a textarea with CRLF and without the final newline: read it as the
        # file it was pasted from, so the diff shows only real changes.
        source = data["source"].replace("\r\n", "\n")
        data["source"] = source if source.endswith("\n") else source + "\n"
        return data

    def check(self) -> tuple[Regulation | None, RegulationError | None]:
        try:
            return load_regulation_text(self.cleaned_data["source"], file="regulation.yaml"), None
        except RegulationError as error:
            return None, error


class PublishForm(forms.Form):
    source = forms.CharField(widget=forms.HiddenInput)
    when = forms.ChoiceField(
        choices=[("now", _("Publish now")), ("at", _("Publish at"))],
        initial="now",
        widget=forms.RadioSelect,
    )
    # Wall-clock time in the regulation's zone (a datetime-local input has no offset); parsed
    # here rather than by DateTimeField, which would read it in the server's zone.
    effective_at = forms.CharField(
        label=_("Effective from"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args: Any, zone: str, taken_versions: set[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = ZoneInfo(zone)
        self.taken_versions = taken_versions

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            regulation = load_regulation_text(data.get("source", ""), file="regulation.yaml")
        except RegulationError:
            raise forms.ValidationError(_("The regulation is not valid; check it again.")) from None
        if regulation.version in self.taken_versions:
            raise forms.ValidationError(
                _("Version %(version)s is already published; change 'version' in the file.")
                % {"version": regulation.version}
            )
        if data.get("when") == "at":
            moment = _wall_clock(data.get("effective_at") or "", self.zone)
            if moment is None:
                self.add_error("effective_at", _("Give the date and time it takes effect."))
            data["effective_from"] = moment
        else:
            data["effective_from"] = timezone.now()
        return data


def _wall_clock(text: str, zone: ZoneInfo) -> datetime | None:
    for pattern in ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text.strip(), pattern).replace(tzinfo=zone)
        except ValueError:
            continue
    return None
