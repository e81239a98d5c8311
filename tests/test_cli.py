"""The `regdesk` command's contract: outputs and exit codes other tools depend on."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from regdesk.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_sla_due_prints_the_instant_with_the_calendar_offset() -> None:
    code, out, _ = run(
        "sla", "due", "--regulation", "wildix", "--clock", "first_response",
        "--start", "2026-11-24T18:00:00Z", "--type", "technical-support",
    )  # fmt: skip
    assert code == 0
    assert out.strip() == "2026-11-25T18:00:00+01:00"


def test_sla_due_json_has_due_target_calendar_explanation() -> None:
    code, out, _ = run(
        "sla", "due", "--regulation", "wialon", "--clock", "first_response",
        "--start", "2026-11-23T20:00:00+03:00", "--tier", "other", "--line", "l1", "--json",
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert data["due"] == "2026-11-24T08:00:00+03:00"
    assert data["target"]["seconds"] == 12 * 3600
    assert "24/7" in data["calendar"]
    assert "12 h" in data["explanation"]
    assert "20:00" in data["explanation"]


def test_sla_due_prints_none_without_a_target() -> None:
    code, out, _ = run(
        "sla", "due", "--regulation", "waviot", "--clock", "first_response",
        "--start", "2026-11-23T10:00:00+03:00", "--priority", "low",
    )  # fmt: skip
    assert (code, out.strip()) == (0, "none")


def test_sla_elapsed_prints_integer_business_seconds() -> None:
    code, out, _ = run(
        "sla", "elapsed", "--regulation", "m2m",
        "--from", "2026-11-27T17:00:00+03:00", "--to", "2026-11-30T10:00:00+03:00",
    )  # fmt: skip
    assert (code, out.strip()) == (0, "7200")


def test_sla_elapsed_uses_the_team_calendar() -> None:
    args = ["sla", "elapsed", "--regulation", "wialon"]
    span = ["--from", "2026-11-28T10:00:00+03:00", "--to", "2026-11-30T10:00:00+03:00"]
    assert run(*args, *span)[1].strip() == str(48 * 3600)
    assert run(*args, *span, "--team", "device-integration")[1].strip() == "3600"


def test_sla_replay_prints_every_clock(tmp_path: Path) -> None:
    lines = [
        {"at": "2026-11-23T20:00:00+03:00", "event": "created", "tier": "other", "line": "l1"},
        {"at": "2026-11-23T21:00:00+03:00", "event": "internal_note"},
        {"at": "2026-11-24T09:00:00+03:00", "event": "agent_reply"},
        {"at": "2026-11-24T10:00:00+03:00", "event": "customer_message"},
    ]
    history = tmp_path / "ticket.jsonl"
    history.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    code, out, _ = run("sla", "replay", "--regulation", "wialon", str(history))
    assert code == 0
    clocks = json.loads(out)["clocks"]
    first = clocks["first_response"]
    assert first["due"] == "2026-11-24T08:00:00+03:00"
    assert first["met_at"] == "2026-11-24T09:00:00+03:00"
    assert first["breached"] is True
    assert first["breached_by_seconds"] == 3600
    assert first["business_seconds"] == 13 * 3600
    nxt = clocks["next_response"]
    assert nxt["due"] == "2026-11-24T22:00:00+03:00"
    assert nxt["met_at"] is None
    assert set(clocks) == {"first_response", "next_response", "resolution"}
    code, out, _ = run(
        "sla",
        "replay",
        "--regulation",
        "wialon",
        str(history),
        "--now",
        "2026-11-25T00:00:00+03:00",
    )
    assert json.loads(out)["clocks"]["next_response"]["breached_by_seconds"] == 2 * 3600


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--regulation", "nosuch", "--clock", "first_response", "--start",
          "2026-11-23T10:00:00+03:00"], "nosuch"),
        (["--regulation", "waviot", "--clock", "first_response", "--start", "yesterday"],
         "bad --start"),
        (["--regulation", "waviot", "--clock", "first_response", "--start",
          "2026-11-23T10:00:00"], "no UTC offset"),
        (["--regulation", "waviot", "--clock", "first_response", "--start",
          "2026-11-23T10:00:00+03:00", "--priority", "urgent"], "unknown priority 'urgent'"),
        (["--regulation", "waviot", "--clock", "sla", "--start",
          "2026-11-23T10:00:00+03:00"], "unknown clock"),
    ],
)  # fmt: skip
def test_sla_errors_are_one_clear_line_and_exit_2(args: list[str], message: str) -> None:
    code, out, err = run("sla", "due", *args)
    assert code == 2
    assert out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_sla_replay_errors_name_the_line(tmp_path: Path) -> None:
    history = tmp_path / "bad.jsonl"
    history.write_text(
        '{"at": "2026-11-23T20:00:00+03:00", "event": "created"}\n'
        '{"at": "2026-11-23T21:00", "event": "agent_reply"}\n'
    )
    code, _, err = run("sla", "replay", "--regulation", "wialon", str(history))
    assert code == 2
    assert f"{history}:2" in err
    assert "no UTC offset" in err


def test_regulation_check_ok_and_broken(tmp_path: Path) -> None:
    assert run("regulation", "check", "waviot")[0] == 0
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: Bad Name\ntitle: x\n")
    code, _, err = run("regulation", "check", str(broken))
    assert code == 1
    assert "broken.yaml:1: name:" in err
    assert "version: required field is missing" in err


def test_regulation_schema_is_json_schema() -> None:
    code, out, _ = run("regulation", "schema")
    schema = json.loads(out)
    assert code == 0
    assert "calendars" in schema["properties"]


def test_regulation_show_renders_in_both_languages() -> None:
    code, out, _ = run("regulation", "show", "waviot", "--lang", "ru")
    assert code == 0
    assert "support@waviot.ru" in out
    code, out, _ = run("regulation", "show", "service-desk")
    assert code == 0
    assert "4 h" in out or "4h" in out


def test_console_script_is_installed() -> None:
    exe = shutil.which("regdesk", path=str(Path(sys.executable).parent))
    assert exe is not None
    done = subprocess.run(
        [exe, "sla", "due", "--regulation", "service-desk", "--clock", "first_response",
         "--start", "2026-11-27T17:30:00+00:00"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0
    assert done.stdout.strip() == "2026-11-30T09:30:00+00:00"
