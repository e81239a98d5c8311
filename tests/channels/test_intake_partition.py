"""Sharing a mailbox out to worker processes: the mail of a thread and of a sender is one
group, processed in its order and never by two workers at once; the workers are kept busy and
finish together. Pure: headers in, groups and batches out."""

from __future__ import annotations

from email.header import Header

import pytest

from regdesk.channels.partition import Schedule, intake_groups, mail_partition_keys


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
    # When the messages are grouped
    groups = intake_groups(heads=heads)
    # Then the three messages of the thread are one group, the others each their own
    assert groups[0] == groups[2] == groups[4] == 0
    assert len({groups[0], groups[1], groups[3]}) == 3


def test_a_senders_mail_is_one_group() -> None:
    heads = [head(f"user{n % 3}@fleet.example", f"<m{n}@fleet>") for n in range(12)]
    heads.append(head("USER1@Fleet.Example", "<late@fleet>"))  # the same sender, other case
    groups = intake_groups(heads=heads)
    assert groups == [n % 3 for n in range(12)] + [1]


def drain(schedule: Schedule, *, workers: int) -> tuple[list[tuple[int, list[int]]], list[int]]:
    """Run the schedule as the pool does, with ``workers`` that take a unit of time per
    message and the longest idle worker served first; returns the (worker, batch) in the order
    taken, and the time each worker finished."""
    taken: list[tuple[int, list[int]]] = []
    clock = [0] * workers
    working: dict[int, list[int]] = {}
    idle = list(range(workers))
    while True:
        for worker in list(idle):
            batch = schedule.take(worker, workers=workers)
            if batch:
                idle.remove(worker)
                working[worker] = batch
                taken.append((worker, batch))
                clock[worker] += len(batch)
        if not working:
            return taken, clock
        first = min(working, key=lambda worker: (clock[worker], worker))
        schedule.done(working.pop(first))
        for worker in idle:  # a worker idle meanwhile waited until then
            clock[worker] = max(clock[worker], clock[first])
        idle.append(first)


def test_a_group_is_taken_in_order_and_by_one_worker_at_a_time() -> None:
    # one busy sender (every third message) among 58 others, batches of 4, three workers
    heads = [
        head("busy@fleet.example" if n % 3 == 0 else f"u{n}@x.example", f"<m{n}@x>")
        for n in range(60)
    ]
    groups = intake_groups(heads=heads)
    schedule = Schedule(heads=heads, batch=4)
    held: dict[int, int] = {}  # group -> worker, while its batch is out
    order: list[int] = []
    idle, working = [0, 1, 2], []
    while True:
        for worker in list(idle):
            batch = schedule.take(worker, workers=3)
            if not batch:
                continue
            assert batch == sorted(batch)
            for index in batch:
                assert held.setdefault(groups[index], worker) == worker
            idle.remove(worker)
            working.append((worker, batch))
        if not working:
            break
        worker, batch = working.pop(0)
        for index in batch:
            held.pop(groups[index], None)
        order.extend(batch)
        schedule.done(batch)
        idle.append(worker)
    assert sorted(order) == list(range(60))  # every message once
    busy = [index for index in order if index % 3 == 0]
    assert busy == sorted(busy)  # the busy sender's mail in its order


def test_the_workers_share_the_load_and_the_last_batches_shrink() -> None:
    # 40 senders, from 1 to 4 messages each (100 in all)
    heads = [
        head(f"user{n}@fleet.example", f"<m{n}.{k}@fleet>")
        for n in range(40)
        for k in range(1 + n % 4)
    ]
    taken, finished = drain(Schedule(heads=heads, batch=20), workers=2)
    assert sorted(i for _worker, batch in taken for i in batch) == list(range(len(heads)))
    # the two workers finish within a message of each other
    assert abs(finished[0] - finished[1]) <= 1
    sizes = [len(batch) for _worker, batch in taken]
    assert sizes[:4] == [20, 20, 20, 20]
    assert sizes[4:] == sorted(sizes[4:], reverse=True)
    assert sizes[-1] < 20


def test_each_worker_keeps_to_its_own_senders_until_they_run_short() -> None:
    # 20 senders writing in turn (200 messages): a batch of 20 in the order of the mailbox
    # would hold one message of each sender
    heads = [head(f"user{n % 20}@fleet.example", f"<m{n}@fleet>") for n in range(200)]
    groups = intake_groups(heads=heads)
    taken, finished = drain(Schedule(heads=heads, batch=20), workers=2)
    senders = {worker: {groups[i] for w, batch in taken if w == worker for i in batch}
               for worker in (0, 1)}  # fmt: skip
    # each worker takes half of the senders, and a batch draws on its own half only
    assert len(senders[0]) == len(senders[1]) == 10
    assert not senders[0] & senders[1]
    assert all(len({groups[i] for i in batch}) <= 10 for _worker, batch in taken)
    assert finished == [100, 100]


def test_a_worker_whose_senders_ran_short_takes_over_anothers() -> None:
    # 40 senders in turn; the first worker's take their turn four times, the second's once
    heads = [
        head(f"user{n % 40}@fleet.example", f"<m{n}@fleet>")
        for n in range(160)
        if n < 40 or n % 40 < 20
    ]
    groups = intake_groups(heads=heads)
    taken, finished = drain(Schedule(heads=heads, batch=20), workers=2)
    assert sorted(i for _worker, batch in taken for i in batch) == list(range(len(heads)))
    first = {groups[i] for worker, batch in taken if worker == 0 for i in batch}
    second = {groups[i] for worker, batch in taken if worker == 1 for i in batch}
    assert {groups[i] for i in range(20)} <= first  # the first worker's own twenty
    # the second worker went on with some of the first's, and they finished together
    assert first & second
    assert abs(finished[0] - finished[1]) <= 20


def test_a_failed_batch_gives_up_its_groups() -> None:
    heads = [head(f"user{n % 2}@fleet.example", f"<m{n}@fleet>") for n in range(8)]
    schedule = Schedule(heads=heads, batch=2)
    first = schedule.take(0, workers=1)
    assert first == [0, 1]
    schedule.done([0], failed=True)  # user0's group: the batch holding message 0 failed
    schedule.done([1])
    rest, _finished = drain(schedule, workers=1)
    # user0's later mail would come before the failed message: it waits for the next run
    assert [index for _worker, batch in rest for index in batch] == [3, 5, 7]


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
    groups = intake_groups(heads=heads)
    assert groups[0] == groups[2] == groups[4]
    assert "ticket:WIA-123" in mail_partition_keys(heads[0])


def test_the_same_message_twice_is_one_workers() -> None:
    # a duplicate (re-delivered with another From spelling) is stored by one process
    heads = [
        head("anna@fleet.example", "<dup@fleet>"),
        head("x@x.example", "<x@x>"),
        head("y@y.example", "<y@y>"),
        head("bounce-handler@fleet.example", "<DUP@fleet>"),
    ]
    groups = intake_groups(heads=heads)
    assert groups[0] == groups[3] != groups[1]


def test_the_sender_is_taken_as_the_parser_takes_it() -> None:
    keys = mail_partition_keys(b"Sender: list@lists.example\r\nSubject: hi\r\n\r\nbody")
    assert keys == ["sender:list@lists.example"]
    assert mail_partition_keys(b"") == []
    # unreadable mail stands alone
    assert intake_groups(heads=[b"\x00\x01", b"", b"junk"]) == [0, 1, 2]


def test_mail_read_later_that_joins_two_workers_groups_waits_for_both() -> None:
    # Anna's and Boris's requests are out with two workers when a third message arrives: Carla
    # answers both threads at once (References to both requests)
    schedule = Schedule(batch=2)
    schedule.add(
        [
            head("anna@fleet.example", "<a1@fleet>"),
            head("anna@fleet.example", "<a2@fleet>"),
            head("boris@fleet.example", "<b1@fleet>"),
            head("boris@fleet.example", "<b2@fleet>"),
        ]
    )
    assert schedule.take(0, workers=2) == [0, 1]
    assert schedule.take(1, workers=2) == [2, 3]
    schedule.add(
        [
            head("carla@fleet.example", "<c1@fleet>", references="<a1@fleet> <b1@fleet>"),
            head("dora@fleet.example", "<d1@fleet>"),
        ]
    )
    schedule.close()
    # the joining message waits while either of its groups is out; Dora's does not
    assert schedule.take(2, workers=3) == [5]
    schedule.done([0, 1])
    assert schedule.take(0, workers=3) == []  # Boris's batch is still out
    schedule.done([2, 3])
    assert schedule.take(1, workers=3) == [4]
    assert schedule.take(0, workers=3) == []  # nothing left


def test_mail_read_after_its_group_failed_is_given_up_too() -> None:
    schedule = Schedule(batch=2)
    schedule.add([head("anna@fleet.example", "<a1@fleet>"), head("x@x.example", "<x1@x>")])
    assert schedule.take(0, workers=1) == [0, 1]
    schedule.done([0, 1], failed=True)
    schedule.add([head("anna@fleet.example", "<a2@fleet>"), head("y@y.example", "<y1@y>")])
    schedule.close()
    # Anna's next message would come before the failed one: it waits for the next run
    assert schedule.take(0, workers=1) == [3]


def test_groups_read_a_chunk_at_a_time_are_shared_evenly() -> None:
    # 20 senders in turn, read 40 messages at a time while two workers process: each worker
    # still keeps to half of the senders
    heads = [head(f"user{n % 20}@fleet.example", f"<m{n}@fleet>") for n in range(200)]
    groups = intake_groups(heads=heads)
    schedule = Schedule(batch=20)
    schedule.add(heads[:40])
    taken = [(worker, schedule.take(worker, workers=2)) for worker in (0, 1)]
    for start in range(40, 200, 40):
        for _worker, batch in taken[-2:]:
            schedule.done(batch)
        schedule.add(heads[start : start + 40])
        taken += [(worker, schedule.take(worker, workers=2)) for worker in (0, 1)]
    schedule.close()
    for _worker, batch in taken[-2:]:
        schedule.done(batch)
    rest, _finished = drain(schedule, workers=2)
    taken += rest
    assert sorted(i for _worker, batch in taken for i in batch) == list(range(200))
    senders = {worker: {groups[i] for w, batch in taken if w == worker for i in batch}
               for worker in (0, 1)}  # fmt: skip
    assert len(senders[0]) == len(senders[1]) == 10
    assert not senders[0] & senders[1]


def test_nothing_is_added_to_a_closed_schedule() -> None:
    schedule = Schedule(batch=2, heads=[head("anna@fleet.example", "<a1@fleet>")])
    with pytest.raises(RuntimeError, match="closed"):
        schedule.add([head("boris@fleet.example", "<b1@fleet>")])
