"""Sharing a mailbox out to worker processes: a thread and a sender stay in one process, in
their order; independent senders are spread evenly. Pure: headers in, worker indices out."""

from __future__ import annotations

from email.header import Header

from regdesk.channels.partition import intake_partition, intake_shares, mail_partition_keys


def head(
    sender: str,
    msgid: str,
    *,
    subject: str = "Reports do not open",
    in_reply_to: str = "",
    references: str = "",
) -> bytes:
    lines = [f"From: Someone <{sender}>", f"Message-ID: {msgid}", f"Subject: {subject}"]
    if in_reply_to:
        lines.append(f"In-Reply-To: {in_reply_to}")
    if references:
        lines.append(f"References: {references}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_thread_written_by_several_senders_stays_in_one_worker() -> None:
    # Given a request by Anna, a colleague's reply to it, and Anna's reply to the colleague
    # whose client trimmed References to the last message only
    heads = [
        head("anna@fleet.example", "<req@fleet>"),
        head("other1@x.example", "<o1@x>"),
        head(
            "boris@fleet.example",
            "<re1@fleet>",
            in_reply_to="<req@fleet>",
            references="<req@fleet>",
        ),
        head("other2@y.example", "<o2@y>"),
        head("carla@partner.example", "<re2@partner>", references="<re1@fleet>"),
    ]
    # When the messages are shared out to two workers
    assigned = intake_partition(heads=heads, workers=2)
    # Then the three messages of the thread are in one worker, the others in the other
    assert assigned[0] == assigned[2] == assigned[4]
    assert assigned[1] == assigned[3] != assigned[0]


def test_a_senders_mail_stays_together_and_in_order() -> None:
    heads = [head(f"user{n % 3}@fleet.example", f"<m{n}@fleet>") for n in range(12)]
    heads.append(head("USER1@Fleet.Example", "<late@fleet>"))  # the same sender, other case
    assigned = intake_partition(heads=heads, workers=3)
    by_sender = {n % 3: assigned[n] for n in range(3)}
    assert all(assigned[n] == by_sender[n % 3] for n in range(12))
    assert assigned[12] == by_sender[1]
    shares = intake_shares(assigned=assigned, workers=3)
    assert sorted(len(share) for share in shares) == [4, 4, 5]
    for share in shares:
        assert share == sorted(share)  # each worker takes its messages in the original order


def test_independent_senders_are_balanced() -> None:
    # 40 senders, from 1 to 4 messages each (100 in all)
    heads = [
        head(f"user{n}@fleet.example", f"<m{n}.{k}@fleet>")
        for n in range(40)
        for k in range(1 + n % 4)
    ]
    assigned = intake_partition(heads=heads, workers=2)
    loads = [assigned.count(0), assigned.count(1)]
    assert sum(loads) == len(heads) == 100
    assert abs(loads[0] - loads[1]) <= 1


def test_a_ticket_named_in_a_subject_or_a_reply_token_ties_its_mail_together() -> None:
    # Two colleagues write about WIA-000123: one by its number in an encoded subject, one by
    # our reply token in References; a third names the number in the bare form
    encoded = Header("Re: [WIA-000123] Отчёт пустой", "koi8-r").encode()
    heads = [
        head("anna@fleet.example", "<a@fleet>", subject=encoded),
        head("x@x.example", "<x@x>"),
        head(
            "boris@fleet.example",
            "<b@fleet>",
            references="<wia-000123.abcdefghijklmnop@desk.example>",
        ),
        head("y@y.example", "<y@y>"),
        head("carla@fleet.example", "<c@fleet>", subject="WIA-123 again"),
    ]
    assigned = intake_partition(heads=heads, workers=2)
    assert assigned[0] == assigned[2] == assigned[4]
    assert "ticket:WIA-123" in mail_partition_keys(heads[0])


def test_the_same_message_twice_is_one_workers() -> None:
    # a duplicate (re-delivered with another From spelling) is stored by one process
    heads = [
        head("anna@fleet.example", "<dup@fleet>"),
        head("x@x.example", "<x@x>"),
        head("y@y.example", "<y@y>"),
        head("bounce-handler@fleet.example", "<DUP@fleet>"),
    ]
    assigned = intake_partition(heads=heads, workers=2)
    assert assigned[0] == assigned[3]


def test_the_sender_is_taken_as_the_parser_takes_it() -> None:
    keys = mail_partition_keys(b"Sender: list@lists.example\r\nSubject: hi\r\n\r\nbody")
    assert keys == ["sender:list@lists.example"]
    assert mail_partition_keys(b"") == []
    # unreadable mail stands alone, in some worker
    assert len(intake_partition(heads=[b"\x00\x01", b"", b"junk"], workers=2)) == 3
