"""The agent workspace, read side: queues, their order and membership, counts, search, pages.

Wialon's first line works 24/7 with a 12 h response target for "other"-tier customers, so a
ticket created h hours ago is due in 12 - h hours whatever the time the suite runs at.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from regdesk.tickets.models import CannedReply, Status
from regdesk.tickets.services import (
    ticket_accept,
    ticket_change_priority,
    ticket_change_team,
    ticket_create,
    ticket_note,
    ticket_reply,
    ticket_resolve,
    ticket_return_for_information,
)
from regdesk.workspace.selectors import (
    Queue,
    QueueCursor,
    count_capped,
    queue_page,
    queue_tickets,
)
from regdesk.workspace.views.queues import _queue_links
from tests.desk.factories import make_desk
from tests.desk.workspace_support import (
    HTMX,
    agent_client,
    customer,
    service_desk_ticket,
    wialon_desk,
    wialon_ticket,
)

pytestmark = pytest.mark.django_db


def queue_refs(client, queue: str, **params: str) -> list[str]:
    response = client.get(reverse("workspace:queue", args=[queue]), params)
    assert response.status_code == 200
    return [row.ticket.reference for row in response.context["rows"]]


def test_all_open_is_ordered_by_next_due_with_undue_tickets_last() -> None:
    # given four open tickets: three with running response clocks, one answered (nothing due)
    desk = wialon_desk()
    agent, client = agent_client(desk)
    two_hours_old = wialon_ticket(desk, hours_ago=2)  # due in 10 h
    five_hours_old = wialon_ticket(desk, hours_ago=5)  # due in 7 h
    new = wialon_ticket(desk, hours_ago=0)  # due in 12 h
    answered = wialon_ticket(desk, hours_ago=6)
    ticket_reply(ticket=answered, author=agent, body="Here is how.")
    # when the agent opens all open tickets
    refs = queue_refs(client, "open")
    # then the soonest due comes first and the answered ticket (no due instant) last
    assert refs == [
        five_hours_old.reference,
        two_hours_old.reference,
        new.reference,
        answered.reference,
    ]


def test_main_queue_page_keeps_its_name_and_shows_all_open() -> None:
    desk = wialon_desk()
    _, client = agent_client(desk)
    ticket = wialon_ticket(desk)
    response = client.get(reverse("workspace:queue"))
    assert response.status_code == 200
    assert reverse("workspace:queue") == "/desk/"
    assert ticket.reference in response.content.decode()
    assert response.context["queue"] is Queue.OPEN


def test_due_soon_and_breached_queues() -> None:
    # given tickets due in 1 h, overdue by 1 h, due in 12 h, and a closed overdue one
    desk = wialon_desk()
    agent, client = agent_client(desk)
    due_in_one_hour = wialon_ticket(desk, hours_ago=11)
    overdue = wialon_ticket(desk, hours_ago=13)
    due_later = wialon_ticket(desk, hours_ago=0)
    closed_overdue = wialon_ticket(desk, hours_ago=20)
    ticket_resolve(ticket=closed_overdue, actor_user=agent)
    # then "due soon" means due within the next 2 hours of wall time, and says so
    response = client.get(reverse("workspace:queue", args=["due-soon"]))
    assert "Due in the next 2 hours" in response.content.decode()
    assert queue_refs(client, "due-soon") == [due_in_one_hour.reference]
    # and "breached" holds open tickets past their due instant only
    assert queue_refs(client, "breached") == [overdue.reference]
    assert due_later.reference not in queue_refs(client, "breached")


def test_breached_flag_keeps_an_answered_late_ticket_in_the_breached_queue() -> None:
    desk = wialon_desk()
    agent, client = agent_client(desk)
    late = wialon_ticket(desk, hours_ago=14)
    ticket_accept(ticket=late, actor=agent)
    ticket_reply(ticket=late, author=agent, body="Sorry for the wait.", status_after="accepted")
    late.refresh_from_db()
    assert late.breached
    assert late.next_due_at is None
    assert queue_refs(client, "breached") == [late.reference]


def test_mine_unassigned_waiting_queues() -> None:
    desk = wialon_desk()
    agent, client = agent_client(desk)
    other_agent, _ = agent_client(desk)
    mine = wialon_ticket(desk, hours_ago=3)
    theirs = wialon_ticket(desk, hours_ago=2)
    nobody = wialon_ticket(desk, hours_ago=1)
    waiting = wialon_ticket(desk, hours_ago=4)
    ticket_accept(ticket=mine, actor=agent)
    ticket_accept(ticket=theirs, actor=other_agent)
    ticket_return_for_information(ticket=waiting, actor=other_agent, missing=["specifics"])

    assert queue_refs(client, "mine") == [mine.reference]
    # the return was a public reply: nothing is due on the waiting ticket, so it comes last
    assert queue_refs(client, "unassigned") == [nobody.reference, waiting.reference]
    assert queue_refs(client, "waiting") == [waiting.reference]


def test_team_queue_follows_the_agents_team_or_line() -> None:
    # given an agent of the server-administration team and one of line l2
    desk = wialon_desk()
    _, admin_client = agent_client(desk, team="server-administration")
    _, l2_client = agent_client(desk, line="l2")
    boss = agent_client(desk)[0]
    for_admins = wialon_ticket(desk, hours_ago=1)
    ticket_change_team(ticket=for_admins, actor=boss, team="server-administration")
    wialon_ticket(desk, hours_ago=2)  # stays with line l1, no team
    # then each sees only their own team's (line's) tickets
    assert queue_refs(admin_client, "team") == [for_admins.reference]
    assert queue_refs(l2_client, "team") == []


def test_sidebar_counts_per_queue_and_cap() -> None:
    desk = wialon_desk()
    agent, client = agent_client(desk)
    wialon_ticket(desk, hours_ago=13)
    mine = wialon_ticket(desk, hours_ago=1)
    ticket_accept(ticket=mine, actor=agent)
    response = client.get(reverse("workspace:counts"), {"queue": "mine"}, **HTMX)
    assert response.status_code == 200
    counts = {link["id"]: link["count"] for link in response.context["queue_links"]}
    assert counts == {
        "mine": 1,
        "team": 2,
        "unassigned": 1,
        "due-soon": 0,
        "breached": 1,
        "waiting": 0,
        "open": 2,
    }
    # counting stops one past the cap, shown as "500+"
    assert count_capped(queue_tickets(user=agent, queue=Queue.OPEN), cap=1) == 2
    shown = {link["id"]: link["count"] for link in _queue_links(None, dict.fromkeys(Queue, 501))}
    assert shown["open"] == "500+"


def test_keyset_pages_walk_the_queue_once_including_undue_tickets() -> None:
    desk = wialon_desk()
    agent, _ = agent_client(desk)
    created = [wialon_ticket(desk, hours_ago=h) for h in (1, 2, 3, 4)]
    answered = created[0]
    ticket_reply(ticket=answered, author=agent, body="Done.")
    tickets = queue_tickets(user=agent, queue=Queue.OPEN)
    seen, cursor, pages = [], None, 0
    while True:
        rows, cursor = queue_page(tickets, after=cursor, size=2)
        seen += [t.reference for t in rows]
        pages += 1
        if cursor is None:
            break
        cursor = QueueCursor.decode(cursor.encode())
    assert pages == 2
    assert seen == [t.reference for t in reversed(created[1:])] + [answered.reference]


def test_next_page_link_through_the_view(monkeypatch: pytest.MonkeyPatch) -> None:
    desk = wialon_desk()
    _, client = agent_client(desk)
    tickets = [wialon_ticket(desk, hours_ago=h) for h in (3, 2, 1)]
    monkeypatch.setattr("regdesk.workspace.selectors.PAGE_SIZE", 2)
    first = client.get(reverse("workspace:queue", args=["open"]))
    assert [row.ticket.reference for row in first.context["rows"]] == [
        tickets[0].reference,
        tickets[1].reference,
    ]
    after = first.context["next_page_query"]
    second = client.get(reverse("workspace:queue", args=["open"]) + "?" + after, **HTMX,
                        HTTP_HX_TARGET="queue-list")  # fmt: skip
    assert [row.ticket.reference for row in second.context["rows"]] == [tickets[2].reference]
    assert second.context["next_page_query"] == ""
    assert "<html" not in second.content.decode()  # only the list is re-rendered


def test_filters_narrow_the_queue() -> None:
    desk = wialon_desk()
    agent, client = agent_client(desk)
    critical = wialon_ticket(desk, hours_ago=1)
    normal = wialon_ticket(desk, hours_ago=2)
    ticket_change_priority(ticket=critical, actor=agent, priority="critical", reason="Outage")
    ticket_accept(ticket=normal, actor=agent)
    assert queue_refs(client, "open", priority="critical") == [critical.reference]
    assert queue_refs(client, "open", assignee="me") == [normal.reference]
    assert queue_refs(client, "open", assignee="none") == [critical.reference]
    assert queue_refs(client, "open", status="accepted") == [normal.reference]
    assert queue_refs(client, "open", type="technical", channel="email") == [
        normal.reference,
        critical.reference,
    ]
    # a forged filter value is ignored rather than an error
    assert len(queue_refs(client, "open", priority="nonsense", desk="abc")) == 2


def test_search_finds_by_words_of_the_conversation_within_the_queue() -> None:
    desk = wialon_desk()
    _, client = agent_client(desk)
    fuel = wialon_ticket(desk, subject="Fuel sensor", body="Fuel level jumps at night")
    wialon_ticket(desk, subject="Report empty", body="No trips in the report")
    assert queue_refs(client, "open", q="fuel jumps") == [fuel.reference]
    assert queue_refs(client, "open", q=fuel.reference) == [fuel.reference]
    assert queue_refs(client, "open", q="nothing-like-this") == []


def test_ticket_page_shows_header_clocks_fields_conversation_and_log() -> None:
    desk = wialon_desk()
    agent, client = agent_client(desk)
    person = customer(desk, tier="gold")
    ticket = wialon_ticket(desk, requester=person, hours_ago=1, fields={"version": "1904",
                           "product": "wialon-local", "deployment": "on-premises",
                           "ssh_access": "ssh root@10.0.0.1 pw hunter2"})  # fmt: skip
    ticket_note(ticket=ticket, author=agent, body="Checked the logs, nothing odd.")
    response = client.get(reverse("workspace:ticket", args=[ticket.reference]))
    assert response.status_code == 200
    page = response.content.decode()
    # header: number, subject, requester, organisation and tier title, status, regulation
    shown = [ticket.reference, ticket.subject, person.full_name, person.organisation.name]
    shown += ["Gold partner", "New", "2026-01", "Technical Care L1", "Support email"]
    for text in shown:
        assert text in page
    # the version is out of its lifecycle: flagged with the service's note
    assert "Out of the support lifecycle" in page
    assert ticket.lifecycle_note
    assert ticket.lifecycle_note in page
    # clocks: one badge per clock of the regulation, with the due instant for the countdown
    ticket.refresh_from_db()
    due = ticket.clock_state["first_response"]["due"]
    assert f'data-due="{due}"' in page
    assert ticket.clock_state["first_response"]["explanation"] in page.replace("&#x27;", "'")
    assert page.count('class="clock ') == 3
    # fields with labels from the regulation; the secret masked, never in the page
    assert "Deployment" in page
    assert "On-premises (Wialon Local)" in page
    assert "hunter2" not in page
    assert "reveal" in page
    # the internal note is marked apart from public messages
    assert 'class="msg msg-note"' in page
    assert 'class="msg msg-customer"' in page
    # the event log names actor and change
    assert "registered" in page
    assert "internal note" in page
    assert "/static/regdesk/workspace.js" in page
    assert "/static/regdesk/workspace.css" in page


def test_missing_fields_are_highlighted_with_a_one_click_return() -> None:
    desk = wialon_desk()
    _, client = agent_client(desk)
    ticket = ticket_create(desk=desk, requester=customer(desk), request_type="technical",
                           subject="Help", body="Something is wrong", channel="email",
                           fields={"product": "wialon-hosting"}, strict=False)  # fmt: skip
    page = client.get(reverse("workspace:ticket", args=[ticket.reference])).content.decode()
    assert page.count('class="fld is-missing"') == 4  # version, deployment, specifics, actions
    assert "Return asking for these 4 fields" in page
    for field_id in ("version", "deployment", "specifics", "actions"):
        assert f'name="missing" value="{field_id}"' in page


def test_canned_replies_of_the_desk_and_global_in_the_tickets_language() -> None:
    desk = wialon_desk()
    other = wialon_desk(slug="other", prefix="OTH")
    _, client = agent_client(desk)
    ticket = wialon_ticket(desk)
    CannedReply.objects.create(
        desk=desk, title="Desk greeting", body="Hello from us", language="en"
    )
    CannedReply.objects.create(desk=None, title="Global thanks", body="Thanks", language="")
    CannedReply.objects.create(desk=desk, title="Russian one", body="Здравствуйте", language="ru")
    CannedReply.objects.create(desk=other, title="Other desk", body="Not ours", language="en")
    page = client.get(reverse("workspace:ticket", args=[ticket.reference])).content.decode()
    assert "Desk greeting" in page
    assert 'data-body="Hello from us"' in page
    assert "Global thanks" in page
    assert "Russian one" not in page
    assert "Other desk" not in page


def test_queue_rows_show_the_ticket_and_its_countdown() -> None:
    desk = wialon_desk()
    _, client = agent_client(desk)
    ticket = wialon_ticket(desk, hours_ago=1)
    page = client.get(reverse("workspace:queue", args=["open"])).content.decode()
    ticket.refresh_from_db()
    assert f'data-due="{ticket.next_due_at.isoformat()}"' in page
    assert f'data-href="/desk/t/{ticket.reference}/"' in page
    assert "data-queue-table" in page  # j/k navigate these rows


def test_service_desk_ticket_in_queue_after_accept() -> None:
    desk = make_desk("service-desk")
    agent, client = agent_client(desk)
    ticket = service_desk_ticket(desk, at=timezone.now() - timedelta(minutes=5))
    ticket_accept(ticket=ticket, actor=agent)
    assert queue_refs(client, "mine") == [ticket.reference]
    ticket.refresh_from_db()
    assert ticket.status == Status.ACCEPTED
