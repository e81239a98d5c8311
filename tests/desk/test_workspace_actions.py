"""Every ticket action through its view: one service call, the panel re-rendered, errors inline."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from regdesk.tickets import crypto
from regdesk.tickets.models import Message, Status, Ticket, TicketEvent
from regdesk.tickets.services import (
    ticket_accept,
    ticket_change_priority,
    ticket_create,
    ticket_reply,
)
from regdesk.workspace.views.actions import ACTIONS
from regdesk.workspace.views.tickets import ACTION_FORMS
from tests.desk.factories import make_desk
from tests.desk.workspace_support import (
    HTMX,
    agent_client,
    customer,
    fresh,
    wialon_desk,
    wialon_ticket,
)

pytestmark = pytest.mark.django_db


def act(client, ticket: Ticket, action: str, data: dict | None = None, *, htmx: bool = True):
    url = reverse("workspace:ticket_action", args=[ticket.reference, action])
    return client.post(url, data or {}, **(HTMX if htmx else {}))


def kinds(ticket: Ticket) -> list[str]:
    return list(ticket.events.values_list("kind", flat=True))


def test_every_action_has_a_form_and_a_service_call() -> None:
    assert ACTIONS.keys() == ACTION_FORMS.keys()


def test_accept_takes_the_ticket_and_rerenders_the_panel() -> None:
    desk = wialon_desk()
    agent, client = agent_client(desk)
    ticket = wialon_ticket(desk)
    response = act(client, ticket, "accept")
    assert response.status_code == 200
    assert response["HX-Trigger"] == "ticket-changed"
    page = response.content.decode()
    assert "<html" not in page  # only the ticket panel
    assert "tk-head" in page
    ticket = fresh(ticket)
    assert ticket.status == Status.ACCEPTED
    assert ticket.assignee == agent
    # accepting twice is an error shown inline, nothing changes
    again = act(client, ticket, "accept")
    assert again.status_code == 200
    assert "Only a new request can be accepted." in again.content.decode()
    assert kinds(ticket).count("status") == 1


def test_without_htmx_a_success_redirects_and_an_error_renders_the_page() -> None:
    desk = wialon_desk()
    _, client = agent_client(desk)
    ticket = wialon_ticket(desk)
    response = act(client, ticket, "accept", htmx=False)
    assert response.status_code == 302
    assert response["Location"] == reverse("workspace:ticket", args=[ticket.reference])
    failed = act(client, ticket, "accept", htmx=False)
    assert failed.status_code == 200
    assert "<html" in failed.content.decode()
    assert "Only a new request can be accepted." in failed.content.decode()


def test_assign_to_me_and_to_another_agent_of_the_desk_only() -> None:
    desk = wialon_desk()
    other_desk = wialon_desk(slug="other", prefix="OTH")
    agent, client = agent_client(desk)
    colleague, _ = agent_client(desk)
    stranger, _ = agent_client(other_desk)
    ticket = wialon_ticket(desk)
    act(client, ticket, "assign", {"assignee": agent.pk})
    assert fresh(ticket).assignee == agent
    act(client, ticket, "assign", {"assignee": colleague.pk})
    assert fresh(ticket).assignee == colleague
    response = act(client, ticket, "assign", {"assignee": stranger.pk})
    assert "Select a valid choice" in response.content.decode()
    assert fresh(ticket).assignee == colleague
    act(client, ticket, "assign", {"assignee": ""})
    assert fresh(ticket).assignee is None


def test_change_priority_needs_a_reason() -> None:
    desk = wialon_desk()
    _, client = agent_client(desk)
    ticket = wialon_ticket(desk)
    response = act(client, ticket, "priority", {"priority": "critical", "reason": ""})
    assert "This field is required." in response.content.decode()
    assert fresh(ticket).priority == "normal"
    response = act(client, ticket, "priority", {"priority": "critical", "reason": "Outage"})
    assert fresh(ticket).priority == "critical"
    event = ticket.events.get(kind="priority")
    assert event.data["reason"] == "Outage"
    assert "Outage" in response.content.decode()  # the event log says why


def test_change_team_and_line() -> None:
    desk = wialon_desk()
    _, client = agent_client(desk)
    ticket = wialon_ticket(desk)
    act(client, ticket, "team", {"team": "device-integration"})
    act(client, ticket, "line", {"line": "l2"})
    ticket = fresh(ticket)
    assert (ticket.team, ticket.line) == ("device-integration", "l2")
    response = act(client, ticket, "team", {"team": "no-such-team"})
    assert "Select a valid choice" in response.content.decode()


def test_return_for_information_with_chosen_fields_and_text() -> None:
    desk = wialon_desk()
    _, client = agent_client(desk)
    ticket = wialon_ticket(desk)
    act(client, ticket, "return", {"missing": ["specifics"], "body": "Which unit exactly?"})
    ticket = fresh(ticket)
    assert ticket.status == Status.WAITING_FOR_CUSTOMER
    message = ticket.messages.filter(kind=Message.Kind.AGENT).get()
    assert "Which unit exactly?" in message.body
    assert "Specifics (user, unit, report template, time interval)" in message.body
    # nothing asked and nothing said: the service's error, inline
    other = wialon_ticket(desk)
    response = act(client, other, "return", {"body": ""})
    assert "Say what is missing." in response.content.decode()
    assert fresh(other).status == Status.NEW


def test_one_click_return_asks_for_the_missing_fields() -> None:
    desk = wialon_desk()
    _, client = agent_client(desk)
    ticket = ticket_create(desk=desk, requester=customer(desk), request_type="technical",
                           subject="Help", body="It broke", channel="email",
                           fields={"product": "wialon-hosting", "version": "2404",
                                   "deployment": "cloud", "specifics": "unit 1"},
                           strict=False)  # fmt: skip
    act(client, ticket, "return", {"missing": ["actions"]})
    ticket = fresh(ticket)
    assert ticket.status == Status.WAITING_FOR_CUSTOMER
    assert ticket.missing_fields == ["actions"]


def test_reply_answers_by_default_and_stores_attachments() -> None:
    desk = wialon_desk()
    _, client = agent_client(desk)
    ticket = wialon_ticket(desk)
    upload = SimpleUploadedFile("steps.txt", b"1. open\n2. click", content_type="text/plain")
    response = act(client, ticket, "reply", {"body": "Try this.", "status_after": "answered",
                                             "attachments": upload})  # fmt: skip
    assert response.status_code == 200
    ticket = fresh(ticket)
    assert ticket.status == Status.ANSWERED
    message = ticket.messages.get(kind=Message.Kind.AGENT)
    assert message.attachments.get().filename == "steps.txt"
    assert ticket.clock_state["first_response"]["state"] == "met"
    assert "steps.txt" in response.content.decode()


@pytest.mark.parametrize("status", ["accepted", "waiting_for_customer"])
def test_reply_then_set_status(status: str) -> None:
    desk = wialon_desk()
    agent, client = agent_client(desk)
    ticket = wialon_ticket(desk)
    ticket_accept(ticket=ticket, actor=agent)
    act(client, ticket, "reply", {"body": "Noted.", "status_after": status})
    assert fresh(ticket).status == status


def test_reply_then_resolved_records_when() -> None:
    desk = wialon_desk()
    _, client = agent_client(desk)
    ticket = wialon_ticket(desk)
    act(client, ticket, "reply", {"body": "Fixed.", "status_after": "resolved"})
    ticket = fresh(ticket)
    assert ticket.status == Status.RESOLVED
    assert ticket.resolved_at is not None
    assert ticket.next_due_at is None


def test_reply_errors_are_inline_and_keep_the_text() -> None:
    desk = wialon_desk()
    _, client = agent_client(desk)
    ticket = wialon_ticket(desk)
    response = act(client, ticket, "reply", {"body": "", "status_after": "answered"})
    assert "This field is required." in response.content.decode()
    response = act(client, ticket, "reply", {"body": "Hi", "status_after": "merged"})
    page = response.content.decode()
    assert "Select a valid choice" in page
    assert ">Hi</textarea>" in page
    assert fresh(ticket).status == Status.NEW


def test_reply_attachment_refused_by_the_regulation_is_an_inline_error() -> None:
    desk = make_desk("waviot", prefix="WAV")  # JPG, GIF, PNG, BMP only
    _, client = agent_client(desk)
    ticket = ticket_create(desk=desk, requester=customer(desk), request_type="reports",
                           subject="Report", body="Empty report", channel="email",
                           fields={"client_name": "Vodokanal", "login": "vk"})  # fmt: skip
    upload = SimpleUploadedFile("notes.txt", b"plain text", content_type="text/plain")
    response = act(client, ticket, "reply", {"body": "See file", "status_after": "answered",
                                             "attachments": upload})  # fmt: skip
    assert "Some attachments are not accepted." in response.content.decode()
    assert not ticket.messages.filter(kind=Message.Kind.AGENT).exists()


def test_internal_note_is_not_public() -> None:
    desk = wialon_desk()
    _, client = agent_client(desk)
    ticket = wialon_ticket(desk)
    response = act(client, ticket, "note", {"body": "Customer is a reseller."})
    note = ticket.messages.get(kind=Message.Kind.NOTE)
    assert note.body == "Customer is a reseller."
    assert 'class="msg msg-note"' in response.content.decode()
    assert fresh(ticket).clock_state["first_response"]["state"] == "running"


def test_resolve() -> None:
    desk = wialon_desk()
    _, client = agent_client(desk)
    ticket = wialon_ticket(desk)
    act(client, ticket, "resolve")
    assert fresh(ticket).status == Status.RESOLVED
    response = act(client, ticket, "resolve")
    assert "is closed" in response.content.decode()


def test_refuse_with_a_reason_of_the_regulation() -> None:
    desk = wialon_desk()
    _, client = agent_client(desk)
    ticket = wialon_ticket(desk)
    response = act(client, ticket, "refuse", {"reason": "made-up", "body": ""})
    assert "Select a valid choice" in response.content.decode()
    act(client, ticket, "refuse", {"reason": "discourtesy", "body": "We cannot continue."})
    ticket = fresh(ticket)
    assert ticket.status == Status.REFUSED
    assert ticket.refusal_reason == "discourtesy"
    assert ticket.messages.filter(body="We cannot continue.").exists()


def test_split_into_several_tickets() -> None:
    desk = wialon_desk()
    _, client = agent_client(desk)
    ticket = wialon_ticket(desk)
    data = {"subject": ["Fuel sensor", "Trips"], "body": ["Fuel jumps", "No trips"]}
    response = act(client, ticket, "split", data)
    children = Ticket.objects.filter(split_from=ticket).order_by("number")
    assert [c.subject for c in children] == ["Fuel sensor", "Trips"]
    assert all(c.reference in response.content.decode() for c in children)
    # a half-filled part is an inline error that keeps what was typed
    response = act(client, ticket, "split", {"subject": ["Only a subject"], "body": [""]})
    page = response.content.decode()
    assert "Every part needs a subject and a text." in page
    assert 'value="Only a subject"' in page


def test_merge_into_a_ticket_of_the_same_desk_only() -> None:
    desk = wialon_desk()
    other_desk = wialon_desk(slug="other", prefix="OTH")
    _, client = agent_client(desk)
    duplicate, original = wialon_ticket(desk), wialon_ticket(desk)
    elsewhere = wialon_ticket(other_desk)
    response = act(client, duplicate, "merge", {"target": elsewhere.reference})
    assert f"There is no ticket {elsewhere.reference} on this desk." in response.content.decode()
    assert fresh(duplicate).status == Status.NEW
    act(client, duplicate, "merge", {"target": original.reference.lower()})
    duplicate = fresh(duplicate)
    assert duplicate.status == Status.MERGED
    assert duplicate.merged_into == original


def test_agree_a_target_where_the_regulation_says_agreed() -> None:
    # given a WAVIoT request the specialist rates low: its reaction time is agreed per ticket
    desk = make_desk("waviot", prefix="WAV")
    agent, client = agent_client(desk)
    ticket = ticket_create(desk=desk, requester=customer(desk), request_type="reports",
                           subject="Report", body="Small question", channel="email",
                           fields={"client_name": "Vodokanal", "login": "vk"})  # fmt: skip
    ticket_change_priority(ticket=ticket, actor=agent, priority="low", reason="A question")
    assert fresh(ticket).next_due_at is None
    page = client.get(reverse("workspace:ticket", args=[ticket.reference])).content.decode()
    assert "Agree a target" in page
    # when the agent agrees 8 business hours
    act(client, ticket, "agree", {"clock": "first_response", "hours": "8"})
    # then the clock has a due instant
    ticket = fresh(ticket)
    assert ticket.next_due_at is not None
    assert ticket.clock_state["first_response"]["target"]["seconds"] == 8 * 3600
    response = act(client, ticket, "agree", {"clock": "first_response", "hours": "0"})
    assert "Ensure this value is greater than or equal to 0.1." in response.content.decode()


def test_edit_fields() -> None:
    desk = wialon_desk()
    _, client = agent_client(desk)
    ticket = wialon_ticket(desk)
    data = {**ticket.fields, "specifics": "user demo, unit Truck 9"}
    act(client, ticket, "fields", data)
    ticket = fresh(ticket)
    assert ticket.fields["specifics"] == "user demo, unit Truck 9"
    assert ticket.events.filter(kind="fields").get().data["changed"] == ["specifics"]
    # an invalid value is the service's error, inline on the field
    response = act(client, ticket, "fields", {**data, "version": "!!"})
    assert "expected a version" in response.content.decode()


def test_edit_fields_sets_a_secret_only_when_typed() -> None:
    desk = wialon_desk()
    _, client = agent_client(desk)
    ticket = wialon_ticket(desk, fields={"deployment": "on-premises", "product": "wialon-local",
                                         "ssh_access": "ssh old"})  # fmt: skip
    data = dict(ticket.fields)
    act(client, ticket, "fields", {**data, "ssh_access": ""})
    assert crypto.decrypt(ticket.secrets.get().ciphertext) == "ssh old"
    act(client, ticket, "fields", {**data, "ssh_access": "ssh new"})
    assert crypto.decrypt(ticket.secrets.get().ciphertext) == "ssh new"


def test_reveal_shows_the_secret_and_logs_who_saw_it() -> None:
    desk = wialon_desk()
    agent, client = agent_client(desk)
    ticket = wialon_ticket(desk, fields={"deployment": "on-premises", "product": "wialon-local",
                                         "ssh_access": "ssh root@10.0.0.1 pw hunter2"})  # fmt: skip
    url = reverse("workspace:secret_reveal", args=[ticket.reference, "ssh_access"])
    response = client.post(url, **HTMX)
    assert response.status_code == 200
    assert "hunter2" in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    event = TicketEvent.objects.get(ticket=ticket, kind="secret_revealed")
    assert event.actor_user == agent
    assert event.data == {"field": "ssh_access"}
    # the log on the ticket page says so, and the page still masks the value
    page = client.get(reverse("workspace:ticket", args=[ticket.reference])).content.decode()
    assert "secret revealed" in page
    assert "hunter2" not in page
    # without htmx the page comes back with the value shown
    page = client.post(url).content.decode()
    assert "hunter2" in page
    assert TicketEvent.objects.filter(ticket=ticket, kind="secret_revealed").count() == 2
    # GET never reveals
    assert client.get(url).status_code == 405


def test_attachment_download_for_the_desks_agents() -> None:
    desk = wialon_desk()
    agent, client = agent_client(desk)
    ticket = wialon_ticket(desk)
    upload = SimpleUploadedFile("log.txt", b"line 1\n", content_type="text/plain")
    ticket_reply(ticket=ticket, author=agent, body="Attached", attachments=[upload])
    attachment = ticket.messages.get(kind="agent").attachments.get()
    response = client.get(reverse("workspace:attachment", args=[attachment.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"line 1\n"
    assert response["Content-Disposition"].startswith("attachment;")


def test_unknown_action_is_404() -> None:
    desk = wialon_desk()
    _, client = agent_client(desk)
    ticket = wialon_ticket(desk)
    assert act(client, ticket, "explode").status_code == 404
