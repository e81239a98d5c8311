"""A desk's regulation: upload a new version, see its problems (with lines) or its diff, publish."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from regdesk.core.loader import RegulationError
from regdesk.desks.models import Desk
from regdesk.desks.selectors import NoRegulationError, regulation_current
from regdesk.desks.services import regulation_diff, regulation_publish
from regdesk.workspace.access import agent_required
from regdesk.workspace.forms import PublishForm, RegulationUploadForm
from regdesk.workspace.selectors import desk_for_regulation_manager, regulation_versions
from regdesk.workspace.views.queues import sidebar_context


def _diff_lines(diff: str) -> list[tuple[str, str]]:
    """(css class, line) for a unified diff."""
    lines = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            tone = "meta"
        elif line.startswith("@@"):
            tone = "hunk"
        elif line.startswith("+"):
            tone = "add"
        elif line.startswith("-"):
            tone = "del"
        else:
            tone = ""
        lines.append((tone, line))
    return lines


def _source_lines(source: str, error: RegulationError) -> list[tuple[int, str, bool]]:
    """The uploaded text numbered, marking the lines that have a problem."""
    bad = {p.line for p in error.problems if p.line}
    return [(n, line, n in bad) for n, line in enumerate(source.splitlines(), start=1)]


def _zone(desk: Desk) -> str:
    try:
        regulation = regulation_current(desk=desk).regulation
    except NoRegulationError:
        return "UTC"
    return regulation.calendars[regulation.default_calendar].zone


@agent_required
def regulation_view(request: HttpRequest, slug: str) -> HttpResponse:
    desk = desk_for_regulation_manager(user=request.user, slug=slug)
    versions = list(regulation_versions(desk=desk))
    try:
        current = regulation_current(desk=desk)
    except NoRegulationError:
        current = None
    context: dict[str, Any] = {
        "desk": desk,
        "versions": versions,
        "current": current,
        "upload_form": RegulationUploadForm(),
        **sidebar_context(request, current=None),
    }
    step = request.POST.get("step") if request.method == "POST" else None
    if step == "check":
        context.update(_check(request, desk, versions))
    elif step == "publish":
        form = PublishForm(
            request.POST, zone=_zone(desk), taken_versions={v.version for v in versions}
        )
        if form.is_valid():
            version = regulation_publish(
                desk=desk,
                source=form.cleaned_data["source"],
                effective_from=form.cleaned_data["effective_from"],
                published_by=request.user,  # type: ignore[arg-type]
            )
            messages.success(
                request,
                _("Version %(version)s is published, effective from %(when)s.")
                % {"version": version.version, "when": version.effective_from.isoformat()},
            )
            return redirect("workspace:regulation", slug=desk.slug)
        source = form.data.get("source", "")
        context.update(
            {
                "publish_form": form,
                "diff": _diff_lines(regulation_diff(desk=desk, source=source)),
                "zone": form.zone.key,
            }
        )
    return render(request, "workspace/regulation.html", context)


def _check(request: HttpRequest, desk: Desk, versions: list[Any]) -> dict[str, Any]:
    form = RegulationUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return {"upload_form": form}
    regulation, error = form.check()
    source = form.cleaned_data["source"]
    if error is not None:
        return {
            "upload_form": form,
            "problems": error.problems,
            "source_lines": _source_lines(source, error),
        }
    assert regulation is not None
    publish_form = PublishForm(
        initial={"source": source, "when": "now"},
        zone=_zone(desk),
        taken_versions={v.version for v in versions},
    )
    return {
        "upload_form": form,
        "checked": regulation,
        "version_taken": regulation.version in {v.version for v in versions},
        "diff": _diff_lines(regulation_diff(desk=desk, source=source)),
        "publish_form": publish_form,
        "zone": publish_form.zone.key,
    }
