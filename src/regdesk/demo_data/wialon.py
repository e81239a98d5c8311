"""Wialon Technical Care: partner tiers, lines L1/L2 and specialist teams."""

from __future__ import annotations

from typing import Any

from regdesk.demo_data.shapes import (
    AgentSpec,
    CustomerSpec,
    DeskSpec,
    OrganisationSpec,
    Story,
    Timeline,
    accept,
    assign,
    canned_replies,
    confirm,
    customer,
    line,
    merge,
    note,
    refuse,
    reply,
    resolve,
    split,
    team,
)


def _wialon_fields(product: str, version: str, deployment: str, specifics: str, actions: str,
                   **extra: str) -> dict[str, Any]:  # fmt: skip
    return {"product": product, "version": version, "deployment": deployment,
            "specifics": specifics, "actions": actions, **extra}  # fmt: skip


def _wialon_stories(t: Timeline) -> list[Story]:
    lead, agent, l2, devices = "olga.marchenko", "mark.davies", "pavel.novik", "tomas.garcia"
    james, sophie, diego, ines = "james.carter", "sophie.turner", "diego.ramos", "ines.castro"
    return [
        Story(
            james,
            "technical",
            "Fuel level jumps after tracker firmware update",
            "After updating our Teltonika FMB140 units to 03.29 the fuel level graph jumps "
            "between 0 and 400 l every few minutes.",
            t.ago(hours=2),
            "email",
            key="fuel",
            fields=_wialon_fields(
                "wialon-hosting",
                "2504",
                "cloud",
                'Units TRK-101…TRK-140, report template "Fuel", yesterday',
                "Updated firmware via FOTA, then ran the fuel report.",
            ),
        ),
        Story(
            sophie,
            "technical",
            "Fuel graph unusable since firmware update",
            "Same problem as James reported: fuel level jumps after the FMB140 update.",
            t.ago(hours=1, minutes=30),
            "email",
            fields=_wialon_fields(
                "wialon-hosting", "2504", "cloud", "Unit TRK-117", "Firmware update."
            ),
            steps=[merge(t.ago(hours=1, minutes=20), agent, "fuel")],
        ),
        Story(
            diego,
            "technical",
            "Geofence notifications arrive 20 minutes late",
            'Notifications for entering the "Port of Valencia" geofence arrive about 20 minutes '
            "after the unit enters it.",
            t.day(2, "11:00"),
            "email",
            fields=_wialon_fields(
                "wialon-hosting",
                "2504",
                "cloud",
                'Notification "Port entry", units group "Reefers"',
                "Units enter the geofence; the e-mail comes later.",
            ),
        ),
        Story(
            james,
            "technical",
            "Wialon Local unreachable after upgrade",
            "After upgrading Wialon Local to 2404 the web interface is unreachable (timeout). "
            "All 2,300 units affected, no data since 02:10.",
            t.ago(hours=3),
            "alarm",
            fields=_wialon_fields(
                "wialon-local",
                "2404",
                "on-premises",
                "Whole installation, all users",
                "Ran the 2404 upgrade script.",
                ssh_access="ssh support@203.0.113.20 -p 2202, key in the vault",
            ),
            steps=[
                accept(t.ago(hours=2, minutes=55), lead),
                reply(
                    t.ago(hours=2, minutes=45),
                    lead,
                    "We are on it: our server administration team is connecting via the SSH "
                    "access you gave.",
                    keep_status=True,
                ),
                team(t.ago(hours=2, minutes=40), lead, "server-administration"),
                note(
                    t.ago(hours=2),
                    lead,
                    "nginx fails to start: the upgrade left the old certificate path. "
                    "Fixing with the customer's approval.",
                ),
            ],
        ),
        Story(
            ines,
            "technical",
            "Reports do not load",
            "Reports do not load for some users.",
            t.day(1, "15:30"),
            "email",
            strict=False,
            fields={"product": "wialon-hosting", "version": "2504", "deployment": "cloud"},
        ),
        Story(
            sophie,
            "technical",
            "New tracker model is not in the device list",
            "We bought Queclink GV355CEU trackers; the model is not in the device type list.",
            t.day(3, "10:00"),
            "email",
            fields=_wialon_fields(
                "wialon-hosting",
                "2504",
                "cloud",
                'New unit "Van 55"',
                "Tried to create a unit with the device type.",
            ),
            steps=[
                accept(t.day(3, "10:20"), agent),
                team(t.day(3, "10:30"), agent, "device-integration"),
                assign(t.day(3, "10:31"), agent, devices),
                reply(
                    t.day(3, "14:00"),
                    devices,
                    'GV355CEU is supported as "Queclink GV355CEU" since last week\'s release; '
                    "please refresh the device type list.",
                ),
            ],
        ),
        Story(
            diego,
            "technical",
            "Driver activity report missing tachograph data",
            "The driver activity report is empty for March although the DDD files were downloaded.",
            t.day(6, "09:00"),
            "email",
            fields=_wialon_fields(
                "wialon-hosting",
                "2504",
                "cloud",
                'Driver "D. Ramos", March',
                "Downloaded DDD files, ran the report.",
            ),
            steps=[
                accept(t.day(6, "09:30"), agent),
                reply(
                    t.day(6, "11:00"),
                    agent,
                    "The files were stored under the vehicle, not the driver; we re-linked "
                    "them. The report now shows March.",
                ),
                customer(t.day(5, "10:00"), diego, "Confirmed, thanks a lot."),
                confirm(t.day(5, "10:01"), diego),
            ],
        ),
        Story(
            ines,
            "technical",
            "Old Wialon Local crashes on report export",
            "Our Wialon Local 1904 crashes when exporting a PDF report.",
            t.day(4, "12:00"),
            "email",
            fields=_wialon_fields(
                "wialon-local",
                "1904",
                "on-premises",
                'Report "Trips", PDF',
                "Export to PDF.",
                ssh_access="ssh admin@198.51.100.7",
            ),
            steps=[
                refuse(
                    t.day(4, "12:40"),
                    lead,
                    "out-of-lifecycle",
                    "Wialon Local 1904 was released in April 2019 and left its five-year "
                    "support period; please upgrade to 2404, we will gladly help then.",
                ),
            ],
        ),
        Story(
            james,
            "technical",
            "Eco-driving report and API token expiry",
            "Two questions: the eco-driving report counts harsh braking twice, and our API "
            "tokens expire after 30 days although we set 100.",
            t.day(5, "14:00"),
            "email",
            fields=_wialon_fields(
                "wialon-hosting",
                "2504",
                "cloud",
                'Report "Eco driving"',
                "Ran the report; created a token with 100 days.",
            ),
            steps=[
                split(
                    t.day(5, "14:20"),
                    lead,
                    [
                        (
                            "Eco-driving report counts harsh braking twice",
                            "The eco-driving report counts every harsh braking event twice.",
                        ),
                        (
                            "API tokens expire after 30 days",
                            "Tokens created with a 100-day duration expire after 30 days.",
                        ),
                    ],
                    then=[
                        [
                            accept(t.day(5, "14:30"), agent),
                            line(t.day(5, "14:35"), agent, "l2"),
                            assign(t.day(5, "14:36"), agent, l2),
                        ],
                        [
                            accept(t.day(5, "14:40"), agent),
                            reply(
                                t.day(5, "15:00"),
                                agent,
                                "The maximum token duration for your account plan is 30 days; "
                                "your manager can raise it.",
                            ),
                        ],
                    ],
                ),
                resolve(t.day(5, "14:25"), lead),
            ],
        ),
        Story(
            sophie,
            "technical",
            "Can't share a unit with the subcontractor",
            "How do I give our subcontractor access to just one unit?",
            t.day(2, "09:00"),
            "email",
            fields=_wialon_fields(
                "wialon-hosting",
                "2504",
                "cloud",
                'Unit "Van 12"',
                "Opened the access tab of the unit.",
            ),
            steps=[
                accept(t.day(2, "09:10"), agent),
                reply(
                    t.day(2, "09:40"),
                    agent,
                    'Create a user for the subcontractor and grant it "View" on Van 12 in '
                    "the unit's Access tab.",
                ),
                customer(
                    t.ago(hours=4),
                    sophie,
                    "Thanks. The subcontractor sees the unit but not its trips — what "
                    "right is missing?",
                ),
            ],
        ),
    ]


WIALON = DeskSpec(
    slug="wialon",
    name="Wialon Technical Care",
    prefix="WLN",
    preset="wialon",
    email_address="support@wialon.example",
    agents=(
        AgentSpec("olga.marchenko", "Olga", "Marchenko", "en", line="l1", is_lead=True),
        AgentSpec("mark.davies", "Mark", "Davies", "en", line="l1"),
        AgentSpec("pavel.novik", "Pavel", "Novik", "ru", line="l2"),
        AgentSpec("tomas.garcia", "Tomás", "García", "en", team="device-integration"),
    ),
    organisations=(
        OrganisationSpec(
            "Trackwise Fleet Ltd",
            (
                CustomerSpec(
                    "james.carter",
                    "James Carter",
                    "james.carter@trackwise.example",
                    "en",
                    is_manager=True,
                ),
                CustomerSpec("sophie.turner", "Sophie Turner", "sophie@trackwise.example", "en"),
            ),
            tier="gold",
        ),
        OrganisationSpec(
            "Flota Segura S.L.",
            (CustomerSpec("diego.ramos", "Diego Ramos", "diego.ramos@flotasegura.example", "en"),),
            tier="silver",
        ),
        OrganisationSpec(
            "Castro Transportes",
            (CustomerSpec("ines.castro", "Inês Castro", "ines@castro-transportes.example", "en"),),
            tier="other",
        ),
    ),
    canned=canned_replies("Wialon Technical Care"),
    stories=_wialon_stories,
)
