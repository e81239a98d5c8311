"""What the new-request form needs about a desk and its customer, and its forms.

Kept apart from the views so that they stay thin: a view builds a ``RequestIntake`` for the desk
the customer asked for, then only parses, calls ``ticket_create`` and renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.urls import reverse

from regdesk.core.regulation import Regulation, local_text
from regdesk.desks.models import Desk
from regdesk.directory.models import Person
from regdesk.portal.forms import RequestFieldsForm, RequestForm
from regdesk.portal.selectors import devices_for_person, products_for_desk, versions_for_desk


@dataclass
class RequestIntake:
    """Everything the new-request form needs about a desk and its customer."""

    desk: Desk
    person: Person
    regulation: Regulation
    lang: str
    zone: ZoneInfo

    @property
    def refresh_url(self) -> str:
        return reverse("portal:request_fields", args=[self.desk.slug])

    def type_or_blank(self, value: str | None) -> str:
        types = [t.id for t in self.regulation.request_types]
        if value in types:
            return str(value)
        return types[0] if len(types) == 1 else ""

    def forms(
        self,
        request_type: str,
        *,
        data: Any = None,
        files: Any = None,
        main_initial: dict[str, Any] | None = None,
        fields_initial: dict[str, Any] | None = None,
    ) -> tuple[RequestForm, RequestFieldsForm | None]:
        main_initial = dict(main_initial or {})
        if request_type:
            main_initial["request_type"] = request_type
        main = RequestForm(
            data,
            files,
            regulation=self.regulation,
            request_type=request_type,
            lang=self.lang,
            refresh_url=self.refresh_url,
            initial=main_initial,
        )
        if not request_type:
            return main, None
        fields = RequestFieldsForm(
            data,
            regulation=self.regulation,
            request_type=request_type,
            lang=self.lang,
            zone=self.zone,
            devices=devices_for_person(person=self.person),
            products=products_for_desk(desk=self.desk),
            versions=versions_for_desk(desk=self.desk),
            refresh_url=self.refresh_url,
            initial=fields_initial,
        )
        return main, fields

    def context(
        self,
        main: RequestForm,
        fields: RequestFieldsForm | None,
        request_type: str,
        *,
        problems: list[str] | None = None,
        submitted: bool = False,
    ) -> dict[str, Any]:
        return {
            "desk": self.desk,
            "regulation_title": local_text(self.regulation.title, self.lang),
            "form": main,
            "fields_form": fields,
            "request_type": request_type,
            "problems": problems or [],
            "submitted": submitted,
            "max_size_mb": f"{self.regulation.attachments.max_size_mb:g}",
            "attachment_note": local_text(self.regulation.attachments.note, self.lang),
            "zone": self.zone,
        }
