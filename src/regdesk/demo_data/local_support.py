"""Two regional local support services on the service-desk preset: Berlin and Madrid."""

from __future__ import annotations

from regdesk.demo_data.shapes import (
    AgentSpec,
    CustomerSpec,
    DeskSpec,
    OrganisationSpec,
    Story,
    Timeline,
    accept,
    ask,
    canned_replies,
    confirm,
    customer,
    merge,
    note,
    priority,
    refuse,
    reply,
    resolve,
    split,
)


def _berlin_stories(t: Timeline) -> list[Story]:
    lead, agent = "anna.schmidt", "jonas.weber"
    petra, tobias, lena = "petra.brandt", "tobias.klein", "lena.vogel"
    return [
        Story(
            petra,
            "incident",
            "DATEV export stops at 80 %",
            'Since this morning the monthly DATEV export stops at 80 % with "Export failed '
            '(code 17)". We need it for the tax adviser by Friday.',
            t.ago(minutes=25),
            "widget",
            priority="high",
            key="datev",
        ),
        Story(
            tobias,
            "incident",
            "DATEV export broken again?",
            "The export to DATEV does not finish, it hangs at 80 %. Is this known?",
            t.ago(minutes=15),
            "email",
            priority="high",
            steps=[merge(t.ago(minutes=5), agent, "datev")],
        ),
        Story(
            lena,
            "service-request",
            "Attachments over 10 MB are rejected",
            "When I attach the scanned meter protocol (14 MB PDF) to a work order the upload "
            'says "file too large". Can the limit be raised for our team?',
            t.day(2, "15:10"),
            "email",
            priority="medium",
        ),
        Story(
            petra,
            "incident",
            "Dashboard shows yesterday's figures only",
            "The logistics dashboard still shows yesterday's deliveries although new ones were "
            "booked this morning. Refreshing does not help.",
            t.day(6, "09:40"),
            "widget",
            priority="high",
            steps=[
                accept(t.day(6, "09:55"), lead),
                reply(
                    t.day(6, "10:05"),
                    lead,
                    "Thank you, Ms Brandt. The nightly aggregation job failed; we are re-running "
                    "it and will report back.",
                    keep_status=True,
                ),
                note(
                    t.day(5, "11:30"),
                    lead,
                    "Aggregation job fails on a malformed delivery record from the Spandau "
                    "depot. Asked the vendor for a patch, ticket VND-4471.",
                ),
            ],
        ),
        Story(
            tobias,
            "incident",
            "Login page answers 502 for everyone at the Spandau depot",
            'Nobody at the Spandau depot can log in since 20 minutes, the page shows "502 Bad '
            'Gateway". The other sites work. We cannot dispatch the afternoon tours.',
            t.ago(hours=2),
            "phone",
            priority="critical",
            registered_by=agent,
            steps=[
                accept(t.ago(hours=1, minutes=55), agent),
                note(
                    t.ago(hours=1, minutes=40),
                    agent,
                    "Depot proxy lost its upstream after the router swap; network team informed.",
                ),
                reply(
                    t.ago(hours=1, minutes=30),
                    agent,
                    "We see the problem: the depot's proxy lost its connection after this "
                    "morning's router change. The network team is on it.",
                    keep_status=True,
                ),
            ],
        ),
        Story(
            lena,
            "incident",
            "Report does not open",
            "The report does not open.",
            t.day(1, "16:20"),
            "email",
            priority="medium",
            steps=[
                ask(
                    t.day(1, "16:45"),
                    agent,
                    "Which report do you mean, and what exactly happens when you open it "
                    "(an error message, an empty page, nothing)?",
                    ["description"],
                ),
            ],
        ),
        Story(
            petra,
            "service-request",
            "How do we add a new cost centre?",
            "We are opening a warehouse in Potsdam and need a new cost centre 4711 for it. "
            "Can we create it ourselves?",
            t.day(3, "11:00"),
            "widget",
            priority="low",
            steps=[
                accept(t.day(3, "11:20"), lead),
                reply(
                    t.day(3, "11:35"),
                    lead,
                    "Yes: Administration → Cost centres → New. As an organisation manager you "
                    "have the right to do it; the new centre is available in orders at once.",
                ),
            ],
        ),
        Story(
            tobias,
            "incident",
            "Password reset e-mail does not arrive",
            "I requested a password reset three times, no e-mail arrives (spam checked).",
            t.day(8, "08:50"),
            "email",
            priority="high",
            steps=[
                accept(t.day(8, "09:05"), agent),
                reply(
                    t.day(8, "09:30"),
                    agent,
                    "Your mail server rejected our messages as the sender domain changed. "
                    "We added the new SPF record; please request the reset once more.",
                ),
                customer(t.day(8, "10:10"), tobias, "Works now, thank you!"),
                confirm(t.day(8, "10:11"), tobias),
            ],
        ),
        Story(
            lena,
            "incident",
            "Delivery notes: the last line is cut off",
            "When we print delivery notes with more than 20 items, the last line is missing.",
            t.day(12, "13:15"),
            "widget",
            priority="medium",
            steps=[
                accept(t.day(12, "13:30"), agent),
                reply(
                    t.day(11, "10:00"),
                    agent,
                    "Fixed in the print template (page break). Please try again.",
                ),
                confirm(t.day(10, "09:20"), lena),
                customer(
                    t.day(9, "14:00"),
                    lena,
                    "It happens again with 40 items: the last line of page 2 is missing.",
                ),
                reply(
                    t.day(9, "15:10"),
                    agent,
                    "The second page had its own footer height; corrected as well.",
                ),
                resolve(t.day(7, "09:00"), agent),
            ],
        ),
        Story(
            tobias,
            "service-request",
            "Please install Office on my home laptop",
            "Could you remotely install Microsoft Office on my private laptop at home?",
            t.day(4, "17:40"),
            "email",
            priority="low",
            steps=[
                refuse(
                    t.day(3, "09:10"),
                    lead,
                    "other",
                    "Private devices are outside the local support's scope; please contact "
                    "your IT department for software licences.",
                ),
            ],
        ),
        Story(
            petra,
            "incident",
            "Calendar sync duplicates appointments, and signature lost its logo",
            "Two things since the update: Outlook calendar sync creates every appointment twice, "
            "and our e-mail signature shows a broken image instead of the logo.",
            t.day(4, "10:30"),
            "widget",
            priority="medium",
            steps=[
                accept(t.day(4, "10:40"), lead),
                split(
                    t.day(4, "10:50"),
                    lead,
                    [
                        (
                            "Outlook calendar sync duplicates appointments",
                            "Since the update every synchronised appointment appears twice.",
                        ),
                        (
                            "E-mail signature shows a broken logo",
                            "The signature template shows a broken image instead of the logo.",
                        ),
                    ],
                    then=[
                        [accept(t.day(4, "11:00"), agent)],
                        [
                            accept(t.day(4, "11:05"), lead),
                            reply(
                                t.day(4, "11:40"),
                                lead,
                                "The logo URL pointed to the old file server; the template now "
                                "embeds the image. New e-mails show it correctly.",
                            ),
                        ],
                    ],
                ),
                resolve(t.day(4, "10:55"), lead),
            ],
        ),
        Story(
            lena,
            "incident",
            "Barcode scanner module is slow",
            "Scanning a pallet label takes 3-4 seconds instead of instantly. Work is possible but "
            "annoying. This is urgent for us!",
            t.day(2, "09:15"),
            "widget",
            priority="critical",
            steps=[
                priority(
                    t.day(2, "09:30"),
                    agent,
                    "medium",
                    "Scanning works, only slower: an additional function is impaired, not "
                    "the system (medium by the regulation's criteria).",
                ),
                accept(t.day(2, "09:31"), agent),
            ],
        ),
    ]


def _madrid_stories(t: Timeline) -> list[Story]:
    lead, agent = "lucia.garcia", "pablo.ruiz"
    carmen, javier, elena = "carmen.lopez", "javier.moreno", "elena.navarro"
    return [
        Story(
            javier,
            "incident",
            "Cannot post goods receipts",
            'Posting a goods receipt in the Getafe warehouse fails with "Lock timeout on '
            'stock table". Three trucks are waiting to be unloaded.',
            t.ago(minutes=35),
            "phone",
            priority="critical",
            registered_by=agent,
            key="receipts",
        ),
        Story(
            elena,
            "incident",
            "Goods receipts fail in Getafe",
            "Same lock timeout here when posting receipts, please help.",
            t.ago(minutes=20),
            "email",
            priority="high",
            steps=[merge(t.ago(minutes=10), agent, "receipts")],
        ),
        Story(
            carmen,
            "service-request",
            "New user for the accounting team",
            "Please create an account for our new accountant, Marta Gil (marta.gil@iberfrio.es).",
            t.ago(minutes=40),
            "widget",
            priority="low",
        ),
        Story(
            elena,
            "incident",
            "Invoices show the old VAT number",
            "PDF invoices still print our old VAT number although we changed it in the master "
            "data last week.",
            t.day(3, "12:20"),
            "email",
            priority="medium",
        ),
        Story(
            carmen,
            "incident",
            "Route planning ignores closed roads",
            "The route planner sends drivers over the M-30 tunnel which is closed at night.",
            t.day(7, "10:00"),
            "widget",
            priority="high",
            steps=[
                accept(t.day(7, "10:20"), lead),
                note(t.day(6, "16:00"), lead, "Map provider feed lacks night closures; escalated."),
            ],
        ),
        Story(
            javier,
            "incident",
            "Mobile app crashes",
            "The app crashes.",
            t.day(1, "12:00"),
            "email",
            priority="high",
            steps=[
                accept(t.day(1, "12:10"), agent),
                ask(
                    t.day(1, "12:25"),
                    agent,
                    "Which phone model and app version, and what do you tap right before the "
                    "crash?",
                    ["description"],
                ),
            ],
        ),
        Story(
            carmen,
            "service-request",
            "Export customer list to Excel",
            "How can I export our customer list with addresses to Excel?",
            t.day(2, "09:30"),
            "widget",
            priority="low",
            steps=[
                accept(t.day(2, "09:45"), agent),
                reply(
                    t.day(2, "10:05"),
                    agent,
                    "Customers → filter as needed → Export → XLSX. Addresses are included "
                    'when the "Address" column is visible.',
                ),
            ],
        ),
        Story(
            elena,
            "incident",
            "Temperature alarms arrive twice",
            "Every cold-room temperature alarm arrives twice by SMS.",
            t.day(9, "11:10"),
            "email",
            priority="medium",
            steps=[
                accept(t.day(9, "11:25"), agent),
                reply(
                    t.day(8, "15:00"),
                    agent,
                    "Two notification rules matched the same sensor group; we removed the "
                    "duplicate rule.",
                ),
                confirm(t.day(7, "09:00"), elena),
            ],
        ),
        Story(
            javier,
            "incident",
            "Your software is useless and so are you",
            "Nothing works, as always. Fix it now or we stop paying.",
            t.day(5, "18:10"),
            "email",
            priority="critical",
            steps=[
                refuse(
                    t.day(4, "09:05"),
                    lead,
                    "other",
                    "We are refusing this request as it describes no problem we can act on. "
                    "Please open a new request describing what does not work.",
                ),
            ],
        ),
        Story(
            carmen,
            "incident",
            "Label printer and scale both offline",
            "In the Valencia branch the label printer and the scale are offline since Monday.",
            t.day(3, "15:00"),
            "widget",
            priority="high",
            steps=[
                split(
                    t.day(3, "15:20"),
                    lead,
                    [
                        (
                            "Valencia: label printer offline",
                            "The label printer in the Valencia branch is offline.",
                        ),
                        ("Valencia: scale offline", "The scale in the Valencia branch is offline."),
                    ],
                    then=[
                        [
                            accept(t.day(3, "15:30"), agent),
                            reply(
                                t.day(2, "10:00"),
                                agent,
                                "The printer got a new IP address from DHCP; we reserved the old "
                                "one. Please print a test label.",
                            ),
                        ],
                        [],
                    ],
                ),
                resolve(t.day(3, "15:25"), lead),
            ],
        ),
    ]


BERLIN = DeskSpec(
    slug="local-berlin",
    name="Local support — Berlin",
    prefix="BER",
    preset="service-desk",
    email_address="support-berlin@example.com",
    zone="Europe/Berlin",
    holidays=("DE", "BE"),
    agents=(
        AgentSpec("anna.schmidt", "Anna", "Schmidt", "en", is_lead=True),
        AgentSpec("jonas.weber", "Jonas", "Weber", "en"),
    ),
    organisations=(
        OrganisationSpec(
            "Brandt Logistik GmbH",
            (
                CustomerSpec(
                    "petra.brandt",
                    "Petra Brandt",
                    "petra.brandt@brandt-logistik.de",
                    "en",
                    is_manager=True,
                    phone="+49 30 5550 1200",
                ),
                CustomerSpec("tobias.klein", "Tobias Klein", "t.klein@brandt-logistik.de", "en"),
            ),
        ),
        OrganisationSpec(
            "Havelwerk Stadtwerke",
            (CustomerSpec("lena.vogel", "Lena Vogel", "lena.vogel@havelwerk.de", "en"),),
        ),
    ),
    canned=canned_replies("Local support — Berlin"),
    stories=_berlin_stories,
)

MADRID = DeskSpec(
    slug="local-madrid",
    name="Local support — Madrid",
    prefix="MAD",
    preset="service-desk",
    email_address="support-madrid@example.com",
    zone="Europe/Madrid",
    holidays=("ES", "MD"),
    agents=(
        AgentSpec("lucia.garcia", "Lucía", "García", "en", is_lead=True),
        AgentSpec("pablo.ruiz", "Pablo", "Ruiz", "en"),
    ),
    organisations=(
        OrganisationSpec(
            "Iberfrío Distribución S.L.",
            (
                CustomerSpec(
                    "carmen.lopez",
                    "Carmen López",
                    "carmen.lopez@iberfrio.es",
                    "en",
                    is_manager=True,
                ),
                CustomerSpec("javier.moreno", "Javier Moreno", "j.moreno@iberfrio.es", "en"),
            ),
        ),
        OrganisationSpec(
            "Transportes Navarro",
            (CustomerSpec("elena.navarro", "Elena Navarro", "elena@tnavarro.es", "en"),),
        ),
    ),
    canned=canned_replies("Local support — Madrid"),
    stories=_madrid_stories,
)
