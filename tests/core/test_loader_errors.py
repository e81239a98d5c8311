"""A broken regulation file reports every problem at once, each with its file, line and path."""

from __future__ import annotations

from pathlib import Path

import pytest

from regdesk.core.loader import (
    RegulationError,
    RegulationProblem,
    load_regulation,
    load_regulation_text,
)
from regdesk.core.regulation import reference_problems

BROKEN = """\
# A desk with one of each kind of mistake.
name: broken-desk
title: Broken desk
version: "1"
effective_from: 2026-01-01T00:00:00+03:00
languages: [en]
calendars:
  office:
    zone: Europe/Atlantis
    week:
      mon-fri: ["09:00-18:00"]
  late:
    zone: UTC
    week:
      mon-fri: ["18:00-09:00"]
default_calendar: office
channels:
  - id: email
    kind: email
  - id: web
    title: Web form
request_types:
  - id: question
    title: Question
priorities:
  - id: normal
    title: Normal
  - id: high
    title: High
    colour: red
default_priority: normal
lines:
  - id: l1
    title: First line
    calendar: nights
clocks:
  first_response:
    targets:
      - when: {priority: urgent}
        target: 2h
      - target: 3 hours
escalation:
  - at_percent: 100
    notify: [contact:boss]
"""


def line_of(text: str, marker: str) -> int:
    """1-based number of the only line of ``text`` that contains ``marker``."""
    numbers = [n for n, line in enumerate(text.splitlines(), 1) if marker in line]
    assert len(numbers) == 1, (marker, numbers)
    return numbers[0]


def problems_of(text: str, file: str = "desk.yaml") -> list[RegulationProblem]:
    with pytest.raises(RegulationError) as caught:
        load_regulation_text(text, file=file)
    return caught.value.problems


def by_path(problems: list[RegulationProblem]) -> dict[str, RegulationProblem]:
    return {p.path: p for p in problems}


def test_every_problem_is_reported_at_once_with_its_line_and_path(tmp_path: Path) -> None:
    # Given a file with field errors and dangling references together
    path = tmp_path / "broken-desk.yaml"
    path.write_text(BROKEN, encoding="utf-8")

    # When it is loaded
    with pytest.raises(RegulationError) as caught:
        load_regulation(path)

    # Then every problem is listed, each pointing at its own line
    found = by_path(caught.value.problems)
    expected = {
        "calendars.office.zone": line_of(BROKEN, "Europe/Atlantis"),
        # the week as a whole is wrong: its key's line, just above the interval
        "calendars.late.week": line_of(BROKEN, '["18:00-09:00"]') - 1,
        "channels.1.kind": line_of(BROKEN, "- id: web"),
        "priorities.1.colour": line_of(BROKEN, "colour: red"),
        "lines.0.calendar": line_of(BROKEN, "calendar: nights"),
        "clocks.first_response.targets.0.when.priority": line_of(BROKEN, "priority: urgent"),
        "clocks.first_response.targets.1.target": line_of(BROKEN, "3 hours"),
        "escalation.0.notify": line_of(BROKEN, "contact:boss"),
    }
    assert {p: found[p].line for p in expected} == expected
    assert len(caught.value.problems) == len(expected)
    assert all(p.file == str(path) for p in caught.value.problems)
    # ... in file order, and the message says what is wrong
    lines = [p.line or 0 for p in caught.value.problems]
    assert lines == sorted(lines)
    assert "unknown time zone 'Europe/Atlantis'" in found["calendars.office.zone"].message
    assert "closes before it opens" in found["calendars.late.week"].message
    assert found["channels.1.kind"].message == "required field is missing"
    assert "unknown field" in found["priorities.1.colour"].message
    assert "unknown calendar 'nights' (known: late, office)" in found["lines.0.calendar"].message
    rule = found["clocks.first_response.targets.0.when.priority"]
    assert "unknown priority 'urgent' (known: high, normal)" in rule.message
    assert (
        "expected a duration like '3h'" in found["clocks.first_response.targets.1.target"].message
    )
    assert "unknown escalation contact 'boss'" in found["escalation.0.notify"].message


def test_the_error_text_is_one_line_per_problem_with_file_and_line() -> None:
    # Given the broken file, when it is loaded, then the exception reads file:line: path: message
    with pytest.raises(RegulationError) as caught:
        load_regulation_text(BROKEN, file="broken-desk.yaml")
    text_lines = str(caught.value).splitlines()
    assert len(text_lines) == len(caught.value.problems)
    duration = line_of(BROKEN, "3 hours")
    assert any(
        line.startswith(f"broken-desk.yaml:{duration}: clocks.first_response.targets.1.target: ")
        for line in text_lines
    )


def test_a_missing_top_level_field_is_reported_by_name() -> None:
    # Given a file without a version and without priorities
    text = BROKEN.replace('version: "1"\n', "").replace("colour: red\n", "")
    text = text.split("priorities:")[0] + "default_priority: normal\n"

    # When it is loaded, then both missing fields are named
    found = by_path(problems_of(text))
    assert found["version"].message == "required field is missing"
    assert found["priorities"].message == "required field is missing"
    assert "unknown priority 'normal'" in found["default_priority"].message
    assert found["default_priority"].line == line_of(text, "default_priority")


def test_a_field_error_inside_a_shared_anchor_points_at_the_anchor() -> None:
    # Given two clocks sharing one target list through a YAML anchor
    text = BROKEN.replace(
        "clocks:\n  first_response:\n    targets:\n      - when: {priority: urgent}\n"
        "        target: 2h\n      - target: 3 hours\n",
        "clocks:\n  first_response:\n    targets: &shared\n      - target: soon\n"
        "  next_response:\n    targets: *shared\n",
    )

    # When it is loaded
    found = by_path(problems_of(text))

    # Then both clocks report the bad target at the line where it is written
    where = line_of(text, "target: soon")
    assert found["clocks.first_response.targets.0.target"].line == where
    assert found["clocks.next_response.targets.0.target"].line == where


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("name: x\ntitle: [a\nversion: 1\n", 3, "flow sequence that starts on line 2"),
        ("name: x\n  title: y\nversion: 1\n", 2, "mapping values are not allowed"),
        ("name: x\n\ttitle: y\n", 2, "'\\t'"),
        ('name: x\ntitle: "open\n', 3, "found unexpected end of stream"),
    ],
)
def test_invalid_yaml_names_its_line(text: str, line: int, words: str) -> None:
    (problem,) = problems_of(text, file="syntax.yaml")
    assert (problem.file, problem.line, problem.path) == ("syntax.yaml", line, "")
    assert problem.message.startswith("not valid YAML: ")
    assert words in problem.message
    assert str(problem).startswith(f"syntax.yaml:{line}: (document): not valid YAML")


def test_a_document_that_is_not_a_mapping_is_refused() -> None:
    (problem,) = problems_of("- just\n- a list\n")
    assert problem.message == "expected a mapping of regulation fields"


def test_a_missing_file_names_the_presets(tmp_path: Path) -> None:
    with pytest.raises(RegulationError) as caught:
        load_regulation(tmp_path / "nowhere.yaml")
    (problem,) = caught.value.problems
    assert "no such preset or file" in problem.message
    assert "waviot" in problem.message


def test_dangling_references_in_fields_and_duplicate_ids() -> None:
    # Given a request type whose condition names a field it does not have, and a twice-given id
    text = (
        BROKEN.replace("zone: Europe/Atlantis", "zone: Europe/Moscow")
        .replace('["18:00-09:00"]', '["09:00-18:00"]')
        .replace("  - id: web\n    title: Web form\n", "  - id: email\n    kind: portal\n")
        .replace("    colour: red\n", "")
        .replace("calendar: nights", "calendar: late")
        .replace("{priority: urgent}", "{priority: high}")
        .replace("3 hours", "3h")
        .replace("contact:boss", "team_lead")
        .replace(
            "    title: Question\n",
            "    title: Question\n    fields:\n      - id: secret\n        kind: secret\n"
            "        label: Password\n        required_when: {field: deploymnet, equals: [x]}\n",
        )
    )

    # When it is loaded, then both are reported where they are written
    found = by_path(problems_of(text))
    assert set(found) == {"channels.1.id", "request_types.0.fields.0.required_when.field"}
    assert found["channels.1.id"].line == line_of(text, "kind: portal") - 1
    assert "channel id 'email' is given twice" in found["channels.1.id"].message
    condition = found["request_types.0.fields.0.required_when.field"]
    assert condition.line == line_of(text, "deploymnet")
    assert "unknown field 'deploymnet'" in condition.message


def test_reference_problems_work_on_raw_and_partial_data() -> None:
    # Given data that is not even a valid regulation, then references are still checked
    assert reference_problems({}) == []
    assert reference_problems({"priorities": "oops", "clocks": {"x": 1}}) == []
    problems = reference_problems(
        {
            "priorities": [{"id": "normal"}],
            "default_priority": "urgent",
            "clocks": {"resolution": {"targets": [{"when": {"priority": ["normal", "p1"]}}]}},
        }
    )
    assert [path for path, _ in problems] == [
        "default_priority",
        "clocks.resolution.targets.0.when.priority",
    ]
