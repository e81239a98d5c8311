"""The five shipped presets, read from the seeds as ../shared/regulations.md fixes them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import yaml

from regdesk.core.loader import PRESETS, load_regulation, preset_text, regulation_schema
from regdesk.core.regulation import (
    ChannelRole,
    ClockName,
    ClockSpec,
    Regulation,
    Status,
    TargetKind,
    TargetRule,
    local_text,
)
from regdesk.core.render import render_regulation

FR, NR, RES = ClockName.FIRST_RESPONSE, ClockName.NEXT_RESPONSE, ClockName.RESOLUTION
MSK = timezone(timedelta(hours=3))

# The "Identifiers the presets use" table of regulations.md: part of the product's interface.
IDENTIFIERS: dict[str, dict[str, set[str]]] = {
    "wialon": {
        "priorities": {"critical", "normal"},
        "tiers": {"gold", "silver", "other"},
        "lines": {"l1", "l2"},
        "teams": {"server-administration", "device-integration", "native-speakers"},
        "request_types": {"technical"},
    },
    "m2m": {
        "priorities": {"normal"},
        "tiers": set(),
        "lines": set(),
        "teams": set(),
        "request_types": {"technical"},
    },
    "wildix": {
        "priorities": {"normal"},
        "tiers": set(),
        "lines": set(),
        "teams": set(),
        "request_types": {"technical-support", "customer-care"},
    },
    "service-desk": {
        "priorities": {"critical", "high", "medium", "low"},
        "tiers": set(),
        "lines": set(),
        "teams": set(),
        "request_types": {"incident", "service-request"},
    },
    "waviot": {
        "priorities": {"critical", "high", "medium", "low"},
        "tiers": set(),
        "lines": set(),
        "teams": set(),
        "request_types": {"device", "base-station", "access", "reports", "other"},
    },
}
SEED_NUMBERS = {
    "wialon": "000",
    "m2m": "001",
    "wildix": "002",
    "service-desk": "003",
    "waviot": "004",
}


def first_rule(spec: ClockSpec, **facts: str) -> TargetRule:
    """The target rule that applies to a ticket with these facts (first match wins)."""
    return next(rule for rule in spec.targets if rule.when.matches(dict(facts)))


def field_ids(reg: Regulation, type_id: str, values: dict[str, Any]) -> set[str]:
    return {spec.id for spec in reg.missing_fields(type_id, values)}


def local_texts(node: Any) -> list[dict[str, str]]:
    """Every {lang: text} mapping in a parsed regulation file."""
    found: list[dict[str, str]] = []
    if isinstance(node, dict):
        if node and set(node) <= {"en", "ru", "es", "pt", "fr", "it"}:
            found.append(node)
        for value in node.values():
            found.extend(local_texts(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(local_texts(item))
    return found


# --------------------------------------------------------------------------- every preset


@pytest.mark.parametrize("name", PRESETS)
def test_preset_loads_under_its_name(name: str) -> None:
    reg = load_regulation(name)
    assert reg.name == name
    assert reg.version
    assert reg.effective_from.utcoffset() is not None
    assert reg.escalation or not any(
        rule.kind is TargetKind.DURATION for spec in reg.clocks.values() for rule in spec.targets
    )


@pytest.mark.parametrize("name", PRESETS)
def test_preset_identifiers_are_the_ones_regulations_md_fixes(name: str) -> None:
    reg = load_regulation(name)
    expected = IDENTIFIERS[name]
    assert {p.id for p in reg.priorities} == expected["priorities"]
    assert {u.id for u in reg.tiers} == expected["tiers"]
    assert {u.id for u in reg.lines} == expected["lines"]
    assert {u.id for u in reg.teams} == expected["teams"]
    assert {t.id for t in reg.request_types} == expected["request_types"]
    assert set(reg.clocks) <= {FR, NR, RES}


@pytest.mark.parametrize("name", PRESETS)
def test_preset_file_opens_with_a_comment_naming_its_seed_and_assumptions(name: str) -> None:
    text = preset_text(name)
    head = text.split("\nname:", 1)[0]
    assert text.startswith("# ")
    assert f"seed {SEED_NUMBERS[name]}" in head
    assert "Assumptions" in head


@pytest.mark.parametrize("name", PRESETS)
def test_preset_resolution_is_measured_without_waiting_for_the_customer(name: str) -> None:
    spec = load_regulation(name).clocks[RES]
    assert Status.WAITING_FOR_CUSTOMER in spec.pause_in


@pytest.mark.parametrize("name", ["m2m", "waviot"])
def test_russian_presets_carry_russian_text_everywhere(name: str) -> None:
    reg = load_regulation(name)
    assert reg.languages == ["ru", "en"]
    texts = local_texts(yaml.safe_load(preset_text(name)))
    assert texts
    assert [t for t in texts if "ru" not in t] == []


@pytest.mark.parametrize("name", ["wialon", "wildix", "service-desk"])
def test_english_presets_carry_english_text_everywhere(name: str) -> None:
    texts = local_texts(yaml.safe_load(preset_text(name)))
    assert [t for t in texts if "en" not in t] == []


def test_schema_is_valid_json_and_describes_every_top_level_key_of_the_presets() -> None:
    schema = json.loads(regulation_schema())
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["type"] == "object"
    for name in PRESETS:
        keys = set(yaml.safe_load(preset_text(name)))
        assert keys <= set(schema["properties"]), name


# --------------------------------------------------------------------------- 000 wialon


def test_wialon_calendars_lines_and_teams() -> None:
    reg = load_regulation("wialon")
    assert reg.default_calendar == "l1-24x7"
    always = reg.calendars["l1-24x7"]
    assert (always.zone, always.week, always.holidays) == ("Europe/Moscow", "24/7", None)
    assert reg.calendars["native-speakers"].week == {"mon-fri": ["09:00-24:00"]}
    assert reg.calendars["specialist-teams"].week == {"mon-fri": ["09:00-18:00"]}
    assert {u.id: u.calendar for u in reg.lines} == {"l1": "l1-24x7", "l2": "l1-24x7"}
    assert {u.id: u.calendar for u in reg.teams} == {
        "server-administration": "specialist-teams",
        "device-integration": "specialist-teams",
        "native-speakers": "native-speakers",
    }
    assert reg.languages == ["en", "ru", "es", "pt", "fr"]
    assert reg.effective_from == datetime(2026, 1, 1, tzinfo=MSK)


@pytest.mark.parametrize(
    ("facts", "target"),
    [
        ({"line": "l2", "tier": "gold"}, "24h"),
        ({"line": "l1", "tier": "gold"}, "3h"),
        ({"line": "l1", "tier": "silver"}, "6h"),
        ({"line": "l1", "tier": "other"}, "12h"),
        ({"team": "device-integration", "tier": "silver"}, "6h"),
    ],
)
def test_wialon_response_matrix_applies_to_first_and_next_response(
    facts: dict[str, str], target: str
) -> None:
    reg = load_regulation("wialon")
    for clock in (FR, NR):
        rule = first_rule(reg.clocks[clock], **facts)
        assert (rule.target, rule.time) == (target, "business")
    assert reg.clocks[NR].counts_from == "last_customer_message"
    assert reg.clocks[FR].targets == reg.clocks[NR].targets


def test_wialon_has_no_resolution_target() -> None:
    spec = load_regulation("wialon").clocks[RES]
    assert [rule.kind for rule in spec.targets] == [TargetKind.NONE]


def test_wialon_channels() -> None:
    reg = load_regulation("wialon")
    email, alarm, phone = reg.channel("email"), reg.channel("alarm"), reg.channel("phone")
    assert (email.address, email.role, email.official_senders) == (
        "support@wialon.com",
        ChannelRole.OPENS,
        "registered",
    )
    assert (alarm.address, alarm.sets_priority, alarm.escalate) == (
        "alarm@wialon.com",
        "critical",
        True,
    )
    assert phone.role is ChannelRole.COORDINATION


def test_wialon_ssh_access_is_required_only_on_premises() -> None:
    reg = load_regulation("wialon")
    values = {
        "product": "wialon-local",
        "version": "2404",
        "specifics": "unit Truck 7, trip report, 1-2 Nov",
        "description": "The report is empty.",
        "actions": "Ran the report after the upgrade.",
    }
    assert field_ids(reg, "technical", {**values, "deployment": "cloud"}) == set()
    assert field_ids(reg, "technical", {**values, "deployment": "on-premises"}) == {"ssh_access"}
    assert "ssh_access" not in field_ids(
        reg, "technical", {**values, "deployment": "on-premises", "ssh_access": "root@host"}
    )
    ssh = next(f for f in reg.fields_for("technical") if f.id == "ssh_access")
    assert ssh.kind.value == "secret"
    assert field_ids(reg, "technical", {}) >= {
        "product",
        "version",
        "deployment",
        "specifics",
        "description",
        "actions",
    }


def test_wialon_lifecycle_escalation_and_rules() -> None:
    reg = load_regulation("wialon")
    products = {p.id: p for p in reg.products}
    assert products["wialon-hosting"].support_years is None
    local = products["wialon-local"]
    assert local.support_years == 5
    assert {v.released.year for v in local.versions} >= {2019, 2021, 2024}
    contacts = {c.id: c for c in reg.escalation_contacts}
    assert contacts["vp-customer-service"].email == "p.sabaliauskas@wialon.com"
    assert "head-of-customer-service" in contacts
    assert any(
        step.at_percent == 0 and step.only_priorities == ["critical"] for step in reg.escalation
    )
    assert {r.id for r in reg.refusal_reasons} == {
        "discourtesy",
        "out-of-lifecycle",
        "unofficial-channel",
    }
    assert reg.one_issue_per_ticket
    assert reg.handled_when_answered


# --------------------------------------------------------------------------- 001 m2m


def test_m2m_reaction_is_measured_only_from_the_last_message() -> None:
    reg = load_regulation("m2m")
    office = reg.calendars[reg.default_calendar]
    assert office.zone == "Europe/Moscow"
    assert office.week == {"mon-fri": ["09:00-18:00"]}
    assert office.holidays is not None
    assert (office.holidays.country, office.holidays.weekend_workdays) == ("RU", True)
    for clock in (FR, NR, RES):
        assert [rule.kind for rule in reg.clocks[clock].targets] == [TargetKind.NONE]
    assert reg.clocks[NR].counts_from == "last_customer_message"
    assert [c.email for c in reg.escalation_contacts] == ["ag@m2mail.ru"]
    assert reg.channel("email").address == "support@m2mail.ru"
    assert field_ids(reg, "technical", {}) == {"product", "description", "specifics", "steps"}


# --------------------------------------------------------------------------- 002 wildix


def test_wildix_targets_and_calendar() -> None:
    reg = load_regulation("wildix")
    hours = reg.calendars[reg.default_calendar]
    assert hours.zone == "Europe/Rome"
    assert hours.holidays is not None
    assert hours.holidays.country == "IT"
    spec = reg.clocks[FR]
    assert first_rule(spec, type="technical-support").kind is TargetKind.END_OF_BUSINESS_DAY
    care = first_rule(spec, type="customer-care")
    assert (care.target, care.time) == ("9h", "business")


def test_wildix_channels() -> None:
    reg = load_regulation("wildix")
    roles = {c.id: c.role for c in reg.channels}
    assert roles == {
        "portal": ChannelRole.OPENS,
        "api": ChannelRole.OPENS,
        "email": ChannelRole.FOLLOW_UP,
        "phone": ChannelRole.CONSULTATION,
        "chat": ChannelRole.CONSULTATION,
        "social": ChannelRole.CONSULTATION,
    }
    assert "https://wmp.wildix.com" in str(reg.channel("email").auto_reply)


def test_wildix_customer_care_without_a_topic_misses_the_topic() -> None:
    reg = load_regulation("wildix")
    given = {"pbx": "PBX-0042", "description": "Invoice 17 is wrong."}
    assert field_ids(reg, "customer-care", given) == {"topic"}
    assert field_ids(reg, "customer-care", {**given, "topic": "billing"}) == set()
    assert field_ids(reg, "technical-support", given) == {"wms_version", "firmware_versions"}
    topic = next(f for f in reg.fields_for("customer-care") if f.id == "topic")
    assert {c.id for c in topic.choices} == {
        "billing",
        "classound",
        "hwaas",
        "pbx-licenses",
        "orders",
        "portal-errors",
        "promo",
        "company-info",
        "general-questions",
    }
    pbx = next(f for f in reg.common_fields if f.id == "pbx")
    assert pbx.kind.value == "device"


# --------------------------------------------------------------------------- 003 service-desk


def test_service_desk_targets_and_priorities() -> None:
    reg = load_regulation("service-desk")
    office = reg.calendars[reg.default_calendar]
    assert (office.zone, office.week, office.holidays) == (
        "UTC",
        {"mon-fri": ["09:00-18:00"]},
        None,
    )
    assert reg.requester_sets_priority
    expected = {"critical": "4h", "high": "24h", "medium": "48h", "low": "72h"}
    for priority, target in expected.items():
        assert first_rule(reg.clocks[FR], priority=priority).target == "1h"
        rule = first_rule(reg.clocks[RES], priority=priority)
        assert (rule.target, rule.time) == (target, "business")
    assert {c.kind.value for c in reg.channels if c.role is ChannelRole.OPENS} == {
        "widget",
        "email",
        "phone",
    }
    to_requester = {n.event.value for n in reg.notifications if "requester" in n.to}
    assert to_requester >= {
        "status_changed",
        "registered",
        "accepted",
        "resolved",
        "priority_changed",
        "returned_for_information",
    }


# --------------------------------------------------------------------------- 004 waviot


def test_waviot_reaction_targets_priorities_and_attachments() -> None:
    reg = load_regulation("waviot")
    spec = reg.clocks[FR]
    assert [first_rule(spec, priority=p).target for p in ("critical", "high", "medium")] == [
        "3h",
        "5h",
        "15h",
    ]
    assert first_rule(spec, priority="low").kind is TargetKind.AGREED
    assert [rule.kind for rule in reg.clocks[RES].targets] == [TargetKind.NONE]
    assert [len(p.criteria) for p in reg.priorities] == [5, 5, 3, 3]
    assert all(p.keywords for p in reg.priorities)
    assert reg.attachments.allowed == ["jpeg", "gif", "png", "bmp"]
    assert reg.acknowledgement_required


def test_waviot_required_information_by_request_type() -> None:
    reg = load_regulation("waviot")
    common = {"client_name", "login", "description"}
    assert field_ids(reg, "device", {}) == common | {"device_id", "serial_number"}
    assert field_ids(reg, "base-station", {}) == common | {"station_number"}
    assert field_ids(reg, "access", {}) == common | {
        "tree_link",
        "responsible_name",
        "responsible_email",
        "responsible_phone",
    }
    assert field_ids(reg, "reports", {}) == common
    assert field_ids(reg, "other", {}) == common


# --------------------------------------------------------------------------- rendering


@pytest.mark.parametrize("name", PRESETS)
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_preset_renders_in_english_and_russian(name: str, lang: str) -> None:
    reg = load_regulation(name)
    text = render_regulation(reg, lang)
    heading = "## How to contact support" if lang == "en" else "## Как обратиться в поддержку"
    assert text.startswith("# ")
    assert heading in text
    assert reg.version in text
    for section in reg.sections:
        assert f"## {local_text(section.title, lang)}" in text


def test_unknown_language_falls_back_to_english_labels() -> None:
    reg = load_regulation("service-desk")
    assert render_regulation(reg, "de") == render_regulation(reg, "en")


def test_wialon_render_names_channels_targets_hours_and_lifecycle() -> None:
    reg = load_regulation("wialon")
    en = render_regulation(reg, "en")
    assert "alarm@wialon.com" in en
    assert "support@wialon.com" in en
    assert "| tier: Gold partner | 3 h | business time |" in en
    assert "| line: Technical Care L2 | 24 h |" in en
    assert "Mon–Fri 09:00–24:00 (Europe/Moscow)" in en
    assert "Mon–Fri 09:00–18:00 (Europe/Moscow)" in en
    assert "required when Deployment is On-premises (Wialon Local)" in en
    assert "p.sabaliauskas@wialon.com" in en
    assert "5 years" in en
    assert "Wialon Local 1904: released 2019-04-01, supported until 2024-03-31" in en
    assert "every new message starts the count again" in en
    ru = render_regulation(reg, "ru")
    assert "| категория: Золотой партнёр | 3 ч | рабочее время |" in ru
    assert "alarm@wialon.com" in ru
    assert "обязательно, если «Размещение» — Собственный сервер (Wialon Local)" in ru


def test_waviot_render_in_russian() -> None:
    reg = load_regulation("waviot")
    ru = render_regulation(reg, "ru")
    assert "| приоритет: Критический | 3 ч | рабочее время |" in ru
    assert "| приоритет: Средний | 15 ч | рабочее время |" in ru
    assert "согласовывается со специалистом поддержки" in ru
    assert "Допустимые форматы: только JPG, GIF, PNG, BMP." in ru
    assert "Пн–Пт 09:00–18:00 (Europe/Moscow)" in ru
    assert "праздничные дни (RU) — выходные" in ru
    assert "8-800-550-51-89 — только консультации" in ru
    assert "считается принятым только после того" in ru
    en = render_regulation(reg, "en")
    assert "| priority: Critical | 3 h | business time |" in en
    assert "Accepted formats: JPG, GIF, PNG, BMP only." in en


def test_wildix_service_desk_and_m2m_renders() -> None:
    wildix = render_regulation(load_regulation("wildix"))
    assert "https://wmp.wildix.com" in wildix
    assert "| request type: Customer Care | 9 h | business time |" in wildix
    assert "end of the business day" in wildix
    assert "public holidays of IT off" in wildix
    assert "CLASSOUND" in wildix
    desk = render_regulation(load_regulation("service-desk"))
    assert "| priority: Critical | 4 h | business time |" in desk
    assert "| priority: Low | 72 h | business time |" in desk
    assert "| all requests | 1 h | business time |" in desk
    assert "Not counted while: waiting for your reply." in desk
    assert "You set the priority when opening a request" in desk
    m2m = render_regulation(load_regulation("m2m"), "ru")
    assert "ag@m2mail.ru" in m2m
    assert "без норматива, только измеряется" in m2m
    assert "## Как обратиться в поддержку" in m2m


def test_render_of_an_instant_uses_the_regulation_offset() -> None:
    reg = load_regulation("service-desk")
    assert reg.effective_from == datetime(2026, 1, 1, tzinfo=UTC)
    assert "2026-01-01 00:00 (UTC+00:00)" in render_regulation(reg)
