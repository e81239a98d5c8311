"""Wildix technical support and customer care, for PBX customers."""

from __future__ import annotations

from regdesk.demo_data.shapes import (
    AgentSpec,
    CustomerSpec,
    DeskSpec,
    DeviceSpec,
    OrganisationSpec,
    Story,
    Timeline,
    accept,
    canned_replies,
    confirm,
    merge,
    note,
    refuse,
    reply,
    resolve,
    split,
)


def _wildix_stories(t: Timeline) -> list[Story]:
    lead, agent = "giulia.rossi", "marco.bianchi"
    chiara, luca, sara = "chiara.ferri", "luca.conti", "sara.greco"
    tech = {"pbx": "wgw-0019a2b3", "wms_version": "6.07", "firmware_versions": "W-AIR 1.8.2"}
    return [
        Story(
            chiara,
            "technical-support",
            "Calls drop after 30 seconds",
            "Since this morning every external call drops after exactly 30 seconds.",
            t.ago(minutes=40),
            "portal",
            fields=dict(tech),
            key="drops",
        ),
        Story(
            sara,
            "technical-support",
            "External calls cut off",
            "Our external calls are cut off after half a minute.",
            t.ago(minutes=25),
            "portal",
            fields=dict(tech),
            steps=[merge(t.ago(minutes=15), agent, "drops")],
        ),
        Story(
            luca,
            "customer-care",
            "Invoice 2026/1187 charged twice",
            "The November invoice 2026/1187 was debited twice from our account.",
            t.day(2, "10:00"),
            "portal",
            fields={"pbx": "wgw-00aa17c4", "topic": "billing"},
        ),
        Story(
            luca,
            "technical-support",
            "Reception phone does not ring",
            "The phone at the reception does not ring for incoming calls.",
            t.day(1, "17:30"),
            "api",
            strict=False,
            fields={"pbx": "wgw-00aa17c4"},
        ),
        Story(
            chiara,
            "technical-support",
            "Voicemail to e-mail stopped",
            "Voicemail messages are no longer sent to our e-mail addresses.",
            t.day(3, "09:30"),
            "portal",
            fields=dict(tech),
            steps=[
                accept(t.day(3, "09:50"), agent),
                note(t.day(3, "10:30"), agent, "SMTP relay credentials expired on the PBX."),
            ],
        ),
        Story(
            sara,
            "customer-care",
            "Add two licences",
            "Please add two Business licences for our new trainees.",
            t.day(2, "14:00"),
            "portal",
            fields={"pbx": "wgw-0019a2b3", "topic": "pbx-licenses"},
            steps=[
                accept(t.day(2, "14:30"), lead),
                reply(
                    t.day(2, "16:00"),
                    lead,
                    "Two Business licences were added; they are active on the PBX now.",
                ),
            ],
        ),
        Story(
            chiara,
            "technical-support",
            "Headset volume too low",
            "Wireless headsets are very quiet since the firmware update.",
            t.day(7, "11:00"),
            "portal",
            fields=dict(tech),
            steps=[
                accept(t.day(7, "11:30"), agent),
                reply(
                    t.day(7, "15:00"),
                    agent,
                    "Firmware 1.8.2 resets the receive gain; set it to +6 dB in WMS → Devices.",
                ),
                confirm(t.day(6, "09:00"), chiara),
            ],
        ),
        Story(
            luca,
            "customer-care",
            "Give us a discount or we leave",
            "Your prices are ridiculous, give us 50 % or we cancel tomorrow.",
            t.day(4, "12:00"),
            "portal",
            fields={"pbx": "wgw-00aa17c4", "topic": "general-questions"},
            steps=[
                refuse(
                    t.day(4, "13:00"),
                    lead,
                    "other",
                    "Commercial terms are handled by your Wildix partner; please contact "
                    "them directly.",
                ),
            ],
        ),
        Story(
            chiara,
            "technical-support",
            "Fax and call recording",
            "Fax-to-mail does not work and call recordings are empty.",
            t.day(5, "10:00"),
            "portal",
            fields=dict(tech),
            steps=[
                split(
                    t.day(5, "10:15"),
                    lead,
                    [
                        ("Fax-to-mail does not work", "Incoming faxes are not sent by e-mail."),
                        ("Call recordings are empty", "Call recordings have 0 seconds of audio."),
                    ],
                    then=[[accept(t.day(5, "10:30"), agent)], []],
                ),
                resolve(t.day(5, "10:20"), lead),
            ],
        ),
    ]


WILDIX = DeskSpec(
    slug="wildix",
    name="Wildix Technical Support",
    prefix="WDX",
    preset="wildix",
    email_address="support@wildix.example",
    agents=(
        AgentSpec("giulia.rossi", "Giulia", "Rossi", "en", is_lead=True),
        AgentSpec("marco.bianchi", "Marco", "Bianchi", "en"),
    ),
    organisations=(
        OrganisationSpec(
            "Studio Legale Ferri",
            (
                CustomerSpec(
                    "chiara.ferri",
                    "Chiara Ferri",
                    "chiara@studioferri.example",
                    "en",
                    is_manager=True,
                ),
                CustomerSpec("sara.greco", "Sara Greco", "sara.greco@studioferri.example", "en"),
            ),
            devices=(DeviceSpec("wgw-0019a2b3", "0019A2B3C4D5", "WGW20", "PBX Studio Ferri"),),
        ),
        OrganisationSpec(
            "Hotel Lago Blu",
            (CustomerSpec("luca.conti", "Luca Conti", "luca.conti@lagoblu.example", "en"),),
            devices=(DeviceSpec("wgw-00aa17c4", "00AA17C4E9F0", "WGW40", "PBX Hotel Lago Blu"),),
        ),
    ),
    canned=canned_replies("Wildix Technical Support"),
    stories=_wildix_stories,
)
