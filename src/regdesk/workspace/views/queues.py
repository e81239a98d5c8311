"""The queue pages: a sidebar of queues with capped counts, filters, search, keyset pages."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.views.decorators.http import require_safe

from regdesk.workspace.access import agent_required, is_htmx
from regdesk.workspace.forms import QueueFilterForm
from regdesk.workspace.presenters import flat_choices, queue_rows
from regdesk.workspace.selectors import (
    COUNT_CAP,
    DUE_SOON_WINDOW,
    QUEUE_TITLES,
    Queue,
    QueueCursor,
    agent_desks,
    desk_agents,
    desk_regulations,
    managed_desk_ids,
    queue_counts,
    queue_filter,
    queue_page,
    queue_tickets,
)

DEFAULT_QUEUE = Queue.OPEN
# "g" then this key jumps to the queue.
QUEUE_KEYS = {
    Queue.MINE: "m",
    Queue.TEAM: "t",
    Queue.UNASSIGNED: "u",
    Queue.DUE_SOON: "d",
    Queue.BREACHED: "b",
    Queue.WAITING: "w",
    Queue.OPEN: "o",
}


def _queue_links(current: Queue | None, counts: dict[Queue, int] | None) -> list[dict[str, object]]:
    links = []
    for queue in Queue:
        count = counts.get(queue) if counts is not None else None
        links.append(
            {
                "id": queue.value,
                "title": QUEUE_TITLES[queue],
                "key": QUEUE_KEYS[queue],
                "current": queue is current,
                "count": None
                if count is None
                else (f"{COUNT_CAP}+" if count > COUNT_CAP else count),
            }
        )
    return links


def sidebar_context(request: HttpRequest, *, current: Queue | None) -> dict[str, object]:
    """The sidebar; its counts come separately (``queue_counts_view``) so pages never wait."""
    user = request.user
    return {
        "queue_links": _queue_links(current, None),
        "current_queue": current.value if current else "",
        "managed_desks": agent_desks(user=user).filter(pk__in=managed_desk_ids(user=user)),
    }


@require_safe
@agent_required
def queue_counts_view(request: HttpRequest) -> HttpResponse:
    current = Queue(request.GET["queue"]) if request.GET.get("queue") in set(Queue) else None
    counts = queue_counts(user=request.user)  # type: ignore[arg-type]
    return render(
        request,
        "workspace/_queue_links.html",
        {"queue_links": _queue_links(current, counts), "with_counts": True},
    )


@require_safe
@agent_required
def queue_view(request: HttpRequest, queue: str = DEFAULT_QUEUE.value) -> HttpResponse:
    try:
        current = Queue(queue)
    except ValueError:
        raise Http404("No such queue") from None
    user = request.user
    desks = list(agent_desks(user=user))
    versions = desk_regulations(desks=desks)
    form = QueueFilterForm(
        request.GET,
        desks=desks,
        regulations=[v.regulation for v in versions.values()],
        agents=list(desk_agents(desk_ids=[d.pk for d in desks])),
    )
    tickets = queue_filter(
        queue_tickets(user=user, queue=current),  # type: ignore[arg-type]
        filters=form.filters(),
        user=user,  # type: ignore[arg-type]
    )
    after = QueueCursor.decode(request.GET.get("after", ""))
    tickets_page, next_cursor = queue_page(tickets, after=after)
    lang = get_language() or "en"
    rows = queue_rows(tickets_page, versions=versions, lang=lang)
    params = {k: v for k, v in request.GET.items() if k != "after" and v}
    # Selects rendered from plain tuples: Django's widget templates render every <option>
    # through the template engine, which cost more than the whole ticket list.
    filter_selects = []
    for field in form:
        if field.name == "q":
            continue
        current_value = str(field.value() or "")
        options = [
            (str(value), text, str(value) == current_value)
            for value, text in flat_choices(field.field.choices)  # type: ignore[attr-defined]
        ]
        filter_selects.append((field.html_name, field.label, options))
    context = {
        "queue": current,
        "queue_title": QUEUE_TITLES[current],
        "due_soon_hours": int(DUE_SOON_WINDOW.total_seconds() // 3600),
        "form": form,
        "filter_selects": filter_selects,
        "rows": rows,
        "many_desks": len(desks) > 1,
        "first_page_query": urlencode(params),
        "next_page_query": (
            urlencode({**params, "after": next_cursor.encode()}) if next_cursor else ""
        ),
        "is_first_page": after is None,
        **sidebar_context(request, current=current),
    }
    if is_htmx(request) and request.headers.get("HX-Target") == "queue-list":
        return render(request, "workspace/_queue_list.html", context)
    return render(request, "workspace/queue.html", context)
