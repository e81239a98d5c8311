"""The customer portal's pages. Views parse input, call the services and selectors, render.

Who may see a ticket is decided by ``regdesk.tickets.selectors`` only; the portal never looks a
ticket up by its number, only by its unguessable ``public_key``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from regdesk.core.regulation import Channel, Regulation, local_text
from regdesk.core.render import render_regulation
from regdesk.desks.models import Desk
from regdesk.directory.models import Person
from regdesk.portal import presenters
from regdesk.portal.forms import (
    PAGE_URL_FIELD,
    MissingInfoForm,
    ReplyForm,
    RequestFieldsForm,
    SignInForm,
    SignInLinkForm,
    add_ticket_errors,
    initial_from,
)
from regdesk.portal.intake import RequestIntake
from regdesk.portal.markup import regulation_html
from regdesk.portal.selectors import (
    channels_in_order,
    customer_zone,
    desk_get_for_person,
    desk_get_public,
    desk_zone,
    desks_for_person,
    devices_for_person,
    person_for_user,
    portal_channel,
    products_for_desk,
    promised_answer,
    promised_resolution,
    regulation_version_for,
    tickets_for_portal,
    versions_for_desk,
)
from regdesk.portal.services import (
    LINK_LIFETIME,
    SignInLinkError,
    signin_link_check,
    signin_link_redeem,
    signin_link_send,
)
from regdesk.tickets.models import OPEN_STATUSES, Attachment, Message, Status, Ticket
from regdesk.tickets.selectors import is_agent_of, ticket_get_for_customer
from regdesk.tickets.services import (
    DESCRIPTION_FIELD,
    TicketError,
    ticket_create,
    ticket_customer_reply,
    ticket_resolve,
)

RENDER_LANGUAGES = ("en", "ru")
PAGE_SIZE = 25


def _lang() -> str:
    return (translation.get_language() or "en").split("-")[0]


def _zone(request: HttpRequest, regulation: Regulation | None) -> ZoneInfo:
    fallback = desk_zone(regulation) if regulation is not None else ZoneInfo("UTC")
    return customer_zone(cookie=request.COOKIES.get("tz"), fallback=fallback)


def _person_or_404(request: HttpRequest) -> Person:
    person = person_for_user(request.user)
    if person is None:
        raise Http404("No customer profile")
    return person


# --------------------------------------------------------------------------- sign-in


class SignInView(auth_views.LoginView):
    template_name = "portal/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["link_form"] = SignInLinkForm()
        return context


@require_http_methods(["GET", "POST"])
def signin_link_request(request: HttpRequest) -> HttpResponse:
    form = SignInLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        signin_link_send(email=form.cleaned_data["email"], base_url=settings.BASE_URL)
        return redirect("portal:signin_link_sent")
    return render(request, "portal/signin_link_request.html", {"form": form})


def signin_link_sent(request: HttpRequest) -> HttpResponse:
    minutes = int(LINK_LIFETIME.total_seconds() // 60)
    return render(request, "portal/signin_link_sent.html", {"minutes": minutes})


@require_http_methods(["GET", "POST"])
def signin_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks to confirm (mail scanners that follow links must not use the link up);
    POST signs in."""
    try:
        if request.method == "POST":
            user = signin_link_redeem(token=token)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(settings.LOGIN_REDIRECT_URL)
        signin_link_check(token=token)
    except SignInLinkError as error:
        return render(request, "portal/signin_link.html", {"error": error.message}, status=400)
    return render(request, "portal/signin_link.html", {"error": ""})


# --------------------------------------------------------------------------- home


@dataclass(frozen=True)
class DeskEntry:
    desk: Desk
    title: str
    summary: str
    opens_on_web: bool


@dataclass(frozen=True)
class TicketRow:
    ticket: Ticket
    status: str
    priority: str
    promise: Any


def _ticket_row(ticket: Ticket, lang: str, now: datetime) -> TicketRow:
    regulation = ticket.regulation_version.regulation
    return TicketRow(
        ticket=ticket,
        status=presenters.status_label(ticket.status),
        priority=presenters.priority_title(regulation, ticket.priority, lang),
        promise=promised_answer(ticket=ticket, now=now),
    )


@login_required
def home(request: HttpRequest) -> HttpResponse:
    person = person_for_user(request.user)
    if person is None:
        is_agent = bool(request.user.is_superuser or hasattr(request.user, "agent"))
        return render(request, "portal/no_profile.html", {"is_agent": is_agent})
    lang = _lang()
    desks = []
    first_regulation = None
    for desk in desks_for_person(person=person):
        try:
            regulation = regulation_version_for(desk=desk).regulation
        except Http404:
            continue
        first_regulation = first_regulation or regulation
        desks.append(
            DeskEntry(
                desk=desk,
                title=local_text(regulation.title, lang),
                summary=local_text(regulation.summary, lang),
                opens_on_web=portal_channel(regulation) is not None,
            )
        )
    scope = "organisation" if request.GET.get("scope") == "organisation" else "mine"
    status = request.GET.get("status", "open")
    status = status if status in ("open", "closed", "all") else "open"
    tickets = tickets_for_portal(user=request.user, person=person, scope=scope, status=status)
    page = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = [_ticket_row(ticket, lang, now) for ticket in page.object_list]
    return render(
        request,
        "portal/home.html",
        {
            "person": person,
            "desks": desks,
            "scope": scope,
            "status": status,
            "page": page,
            "rows": rows,
            "zone": _zone(request, first_regulation),
        },
    )


# --------------------------------------------------------------------------- regulation


def regulation_page(request: HttpRequest, desk_slug: str) -> HttpResponse:
    """The desk's published regulation: public, in the reader's language."""
    desk = desk_get_public(slug=desk_slug)
    version = regulation_version_for(desk=desk)
    regulation = version.regulation
    lang = _lang()
    text = render_regulation(regulation, lang=lang if lang in RENDER_LANGUAGES else "en")
    body, headings = regulation_html(text)
    person = person_for_user(request.user)
    can_open = person is not None and desks_for_person(person=person).filter(pk=desk.pk).exists()
    snippet = ""
    if is_agent_of(request.user, desk.pk):
        widget_url = settings.BASE_URL + reverse("portal:widget", args=[desk.slug])
        snippet = f'<script src="{widget_url}" async></script>'
    return render(
        request,
        "portal/regulation.html",
        {
            "desk": desk,
            "version": version,
            "body": body,
            "contents": [h for h in headings if h.level == 2],
            "can_open": can_open,
            "snippet": snippet,
            "zone": _zone(request, regulation),
        },
    )


# --------------------------------------------------------------------------- new request


def _intake(request: HttpRequest, desk_slug: str) -> tuple[RequestIntake, Channel | None]:
    """The desk's intake for the signed-in customer (404 unless the desk is theirs) and the
    channel the portal registers requests by (None: the regulation opens them elsewhere)."""
    person = _person_or_404(request)
    desk = desk_get_for_person(person=person, slug=desk_slug)
    regulation = regulation_version_for(desk=desk).regulation
    intake = RequestIntake(
        desk=desk,
        person=person,
        regulation=regulation,
        lang=_lang(),
        zone=_zone(request, regulation),
    )
    return intake, portal_channel(regulation)


@login_required
@require_http_methods(["GET", "POST"])
def request_new(request: HttpRequest, desk_slug: str) -> HttpResponse:
    intake, channel = _intake(request, desk_slug)
    if channel is None:
        channels = [
            presenters.channel_info(c, intake.lang) for c in channels_in_order(intake.regulation)
        ]
        return render(
            request,
            "portal/how_to_open.html",
            {
                "desk": intake.desk,
                "regulation_title": local_text(intake.regulation.title, intake.lang),
                "opening": [c for c in channels if c.opens],
                "other": [c for c in channels if not c.opens],
            },
        )
    if request.method == "GET":
        query = request.GET
        request_type = intake.type_or_blank(query.get("type") or query.get("request_type"))
        main_initial, fields_initial = initial_from(
            query, regulation=intake.regulation, request_type=request_type
        )
        main, fields = intake.forms(
            request_type, main_initial=main_initial, fields_initial=fields_initial
        )
        context = intake.context(main, fields, request_type)
        context["page_param"] = str(query.get("page") or "")[:2000]
        return render(request, "portal/request_new.html", context)

    request_type = intake.type_or_blank(request.POST.get("request_type"))
    main, fields = intake.forms(request_type, data=request.POST, files=request.FILES)
    problems: list[str] = []
    main_ok = main.is_valid()
    fields_ok = fields.is_valid() if fields is not None else False
    if main_ok and fields_ok and fields is not None:
        try:
            ticket = ticket_create(
                desk=intake.desk,
                requester=intake.person,
                request_type=request_type,
                subject=main.cleaned_data["subject"],
                body=main.message_body(),
                fields=fields.field_values(),
                channel=channel.id,
                proposed_priority=main.cleaned_data.get("proposed_priority") or None,
                attachments=main.cleaned_data["attachments"],
                language=intake.lang,
                strict=True,
            )
        except TicketError as error:
            problems = add_ticket_errors(error, main=main, fields=fields)
        else:
            messages.success(
                request,
                _("Your request %(number)s has been registered.") % {"number": ticket.reference},
            )
            return redirect("portal:ticket", public_key=ticket.public_key)
    context = intake.context(main, fields, request_type, problems=problems, submitted=True)
    return render(request, "portal/request_new.html", context, status=400)


@login_required
@require_POST
def request_fields(request: HttpRequest, desk_slug: str) -> HttpResponse:
    """The part of the form after the request type, for htmx (keeps what was typed)."""
    intake, channel = _intake(request, desk_slug)
    if channel is None:
        raise Http404("This desk does not take requests on the web")
    request_type = intake.type_or_blank(request.POST.get("request_type"))
    main_initial, fields_initial = initial_from(
        request.POST, regulation=intake.regulation, request_type=request_type
    )
    main, fields = intake.forms(
        request_type, main_initial=main_initial, fields_initial=fields_initial
    )
    response = render(
        request, "portal/_request_details.html", intake.context(main, fields, request_type)
    )
    url = reverse("portal:request_new", args=[intake.desk.slug])
    query = {"type": request_type}
    if request.POST.get("page") or fields_initial.get(PAGE_URL_FIELD):
        query["page"] = request.POST.get("page") or str(fields_initial[PAGE_URL_FIELD])
    response["HX-Push-Url"] = f"{url}?{urlencode(query)}"
    return response


# --------------------------------------------------------------------------- the ticket


def _ticket_page(
    request: HttpRequest,
    ticket: Ticket,
    *,
    reply_form: ReplyForm | None = None,
    missing_fields: RequestFieldsForm | None = None,
    missing_form: MissingInfoForm | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    regulation = ticket.regulation_version.regulation
    lang = _lang()
    zone = _zone(request, regulation)
    person = person_for_user(request.user)
    now = timezone.now()
    secret_ids = set(ticket.secrets.values_list("field_id", flat=True))
    can_act = person is not None and ticket.status not in (Status.REFUSED, Status.MERGED)
    waiting = ticket.status == Status.WAITING_FOR_CUSTOMER and bool(ticket.missing_fields)
    if can_act and waiting and missing_fields is None:
        missing_fields = _missing_fields_form(ticket, regulation, lang, zone, person, None)
        missing_form = MissingInfoForm(body_required=_description_missing(ticket))
    if can_act and reply_form is None:
        reply_form = ReplyForm(policy=regulation.attachments)
    labels = presenters.field_labels(regulation, ticket.request_type, lang)
    return render(
        request,
        "portal/ticket.html",
        {
            "ticket": ticket,
            "desk": ticket.desk,
            "status_label": presenters.status_label(ticket.status),
            "priority": presenters.priority_title(regulation, ticket.priority, lang),
            "request_type": presenters.request_type_title(regulation, ticket.request_type, lang),
            "details": presenters.ticket_field_values(ticket, regulation, lang, secret_ids),
            "timeline": presenters.ticket_timeline(ticket, regulation, lang),
            "promise": promised_answer(ticket=ticket, now=now),
            "resolution": promised_resolution(ticket=ticket, now=now),
            "missing_labels": [labels.get(m, m) for m in ticket.missing_fields] if waiting else [],
            "missing_fields": missing_fields if can_act and waiting else None,
            "missing_form": missing_form,
            "reply_form": reply_form if can_act else None,
            "can_confirm": person is not None and ticket.status == Status.ANSWERED,
            "is_open": ticket.status in OPEN_STATUSES,
            "is_resolved": ticket.status == Status.RESOLVED,
            "problems": problems or [],
            "max_size_mb": f"{regulation.attachments.max_size_mb:g}",
            "zone": zone,
        },
        status=status,
    )


def _missing_fields_form(
    ticket: Ticket,
    regulation: Regulation,
    lang: str,
    zone: ZoneInfo,
    person: Person | None,
    data: Any,
) -> RequestFieldsForm:
    return RequestFieldsForm(
        data,
        regulation=regulation,
        request_type=ticket.request_type,
        lang=lang,
        zone=zone,
        devices=devices_for_person(person=person),
        products=products_for_desk(desk=ticket.desk),
        versions=versions_for_desk(desk=ticket.desk),
        only=ticket.missing_fields,
        known=ticket.fields,
        force_required=True,
    )


def _description_missing(ticket: Ticket) -> bool:
    # The message answers the regulation's description field: it is then required.
    return DESCRIPTION_FIELD in (ticket.missing_fields or [])


def _customer_ticket(request: HttpRequest, public_key: str) -> Ticket:
    return ticket_get_for_customer(user=request.user, public_key=public_key)


def _reply_channel(ticket: Ticket) -> str:
    channel = portal_channel(ticket.regulation_version.regulation)
    return channel.id if channel is not None else "portal"


@login_required
def ticket_detail(request: HttpRequest, public_key: str) -> HttpResponse:
    return _ticket_page(request, _customer_ticket(request, public_key))


@login_required
@require_POST
def ticket_reply(request: HttpRequest, public_key: str) -> HttpResponse:
    ticket = _customer_ticket(request, public_key)
    person = _person_or_404(request)
    form = ReplyForm(
        request.POST, request.FILES, policy=ticket.regulation_version.regulation.attachments
    )
    problems: list[str] = []
    if form.is_valid():
        try:
            ticket_customer_reply(
                ticket=ticket,
                person=person,
                body=form.cleaned_data["body"],
                channel=_reply_channel(ticket),
                attachments=form.cleaned_data["attachments"],
            )
        except TicketError as error:
            problems = add_ticket_errors(error, main=form)
        else:
            messages.success(request, _("Your reply has been added."))
            return redirect("portal:ticket", public_key=ticket.public_key)
    return _ticket_page(request, ticket, reply_form=form, problems=problems, status=400)


@login_required
@require_POST
def ticket_supply_missing(request: HttpRequest, public_key: str) -> HttpResponse:
    """The customer supplies what support asked for; the ticket leaves waiting_for_customer."""
    ticket = _customer_ticket(request, public_key)
    person = _person_or_404(request)
    regulation = ticket.regulation_version.regulation
    lang = _lang()
    zone = _zone(request, regulation)
    fields = _missing_fields_form(ticket, regulation, lang, zone, person, request.POST)
    note = MissingInfoForm(request.POST, body_required=_description_missing(ticket))
    problems: list[str] = []
    if fields.is_valid() and note.is_valid():
        values = fields.field_values()
        labels = presenters.field_labels(regulation, ticket.request_type, lang)
        body = note.cleaned_data["body"].strip() or _(
            "I have added the information you asked for: %(fields)s."
        ) % {"fields": ", ".join(labels.get(key, key) for key in values)}
        try:
            ticket_customer_reply(
                ticket=ticket,
                person=person,
                body=body,
                channel=_reply_channel(ticket),
                fields=values,
            )
        except TicketError as error:
            problems = add_ticket_errors(error, main=note, fields=fields)
        else:
            messages.success(request, _("Thank you: the information has been added."))
            return redirect("portal:ticket", public_key=ticket.public_key)
    return _ticket_page(
        request,
        ticket,
        missing_fields=fields,
        missing_form=note,
        problems=problems,
        status=400,
    )


@login_required
@require_POST
def ticket_confirm_solved(request: HttpRequest, public_key: str) -> HttpResponse:
    ticket = _customer_ticket(request, public_key)
    person = _person_or_404(request)
    try:
        ticket_resolve(ticket=ticket, actor_person=person)
    except TicketError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Thank you for confirming: the request is resolved."))
    return redirect("portal:ticket", public_key=ticket.public_key)


@login_required
def attachment_download(request: HttpRequest, public_key: str, attachment_id: int) -> HttpResponse:
    """A file of a public message of a ticket the user may see; never a raw media URL."""
    ticket = _customer_ticket(request, public_key)
    attachment = (
        Attachment.objects.filter(pk=attachment_id, message__ticket=ticket)
        .exclude(message__kind=Message.Kind.NOTE)
        .first()
    )
    if attachment is None:
        raise Http404("No such attachment")
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --------------------------------------------------------------------------- help button


def widget_script(request: HttpRequest, desk_slug: str) -> HttpResponse:
    """The embeddable help button: a script that opens the desk's request form in a new tab,
    telling it the page it was opened from."""
    desk = desk_get_public(slug=desk_slug)
    config = {
        "formUrl": settings.BASE_URL + reverse("portal:request_new", args=[desk.slug]),
        "label": _("Help"),
        "title": _("Open a support request (opens in a new tab)"),
        "id": f"regdesk-help-{desk.slug}",
    }
    # JSON inside a script: no "</" can close anything.
    config_json = json.dumps(config).replace("<", "\\u003c")
    response = render(
        request,
        "portal/widget.js",
        {"config_json": config_json},
        content_type="application/javascript; charset=utf-8",
    )
    response["Cache-Control"] = "public, max-age=300"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
