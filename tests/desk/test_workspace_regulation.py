"""A desk lead uploads a regulation: problems come with their lines, a valid one with its diff."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from regdesk.core.loader import preset_text
from regdesk.desks.models import RegulationVersion
from tests.desk.factories import UserFactory
from tests.desk.workspace_support import agent_client, login, wialon_desk

pytestmark = pytest.mark.django_db


def next_version(text: str) -> str:
    return text.replace('version: "2026-01"', 'version: "2026-02"').replace(
        "      en: Wialon technical support regulations",
        "      en: Wialon technical support regulations (revised)",
        1,
    )


@pytest.fixture
def lead():
    desk = wialon_desk()
    user, client = agent_client(desk, is_lead=True)
    return desk, user, client, reverse("workspace:regulation", args=[desk.slug])


def test_the_page_lists_every_version(lead) -> None:
    _desk, _, client, url = lead
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "2026-01" in page
    assert "in effect" in page


def test_a_broken_upload_shows_each_problem_with_its_line(lead) -> None:
    desk, _, client, url = lead
    text = preset_text("wialon").replace("default_priority: normal", "default_priority: urgent")
    line = 1 + text.splitlines().index("default_priority: urgent")
    response = client.post(url, {"step": "check", "source": text})
    page = response.content.decode()
    assert response.status_code == 200
    assert f'href="#src-{line}">line {line}</a>' in page
    assert "unknown priority &#x27;urgent&#x27;" in page
    assert f'<span id="src-{line}" class="bad">' in page
    assert "publish_form" not in response.context
    assert RegulationVersion.objects.filter(desk=desk).count() == 1


def test_yaml_that_does_not_parse_is_reported_with_its_line(lead) -> None:
    _, _, client, url = lead
    response = client.post(url, {"step": "check", "source": "name: x\ntitle: [unclosed\n"})
    assert "not valid YAML" in response.content.decode()


def test_a_valid_upload_shows_the_diff_then_publishes_now(lead) -> None:
    desk, user, client, url = lead
    text = next_version(preset_text("wialon"))
    # when the lead checks the new version
    response = client.post(url, {"step": "check", "source": text})
    page = response.content.decode()
    # then the diff against the version in effect is shown
    assert '<span class="add">+version: &quot;2026-02&quot;' in page
    assert '<span class="del">-version: &quot;2026-01&quot;' in page
    assert "Version 2026-02 is valid" in page
    # and publishing it now makes it the current version
    before = timezone.now()
    response = client.post(url, {"step": "publish", "source": text, "when": "now"})
    assert response.status_code == 302
    version = RegulationVersion.objects.get(desk=desk, version="2026-02")
    assert version.published_by == user
    assert before <= version.effective_from <= timezone.now()
    assert "Version 2026-02 is published" in client.get(url).content.decode()


def test_an_uploaded_file_is_read_like_the_textarea(lead) -> None:
    _, _, client, url = lead
    upload = SimpleUploadedFile("wialon.yaml", next_version(preset_text("wialon")).encode())
    response = client.post(url, {"step": "check", "file": upload})
    assert "Version 2026-02 is valid" in response.content.decode()


def test_publish_at_an_instant_in_the_regulations_zone(lead) -> None:
    desk, _, client, url = lead
    text = next_version(preset_text("wialon"))
    when = (timezone.now() + timedelta(days=30)).astimezone(ZoneInfo("Europe/Moscow"))
    local = when.strftime("%Y-%m-%dT%H:%M")
    client.post(url, {"step": "publish", "source": text, "when": "at", "effective_at": local})
    version = RegulationVersion.objects.get(desk=desk, version="2026-02")
    expected = datetime.strptime(local, "%Y-%m-%dT%H:%M").replace(tzinfo=ZoneInfo("Europe/Moscow"))
    assert version.effective_from == expected
    # a version not yet in effect is listed, the current one stays
    page = client.get(url).content.decode()
    assert "2026-02" in page
    assert "In effect: version 2026-01" in page


def test_publish_at_without_an_instant_is_an_error(lead) -> None:
    desk, _, client, url = lead
    text = next_version(preset_text("wialon"))
    response = client.post(url, {"step": "publish", "source": text, "when": "at"})
    assert "Give the date and time it takes effect." in response.content.decode()
    assert not RegulationVersion.objects.filter(desk=desk, version="2026-02").exists()


def test_the_same_version_label_cannot_be_published_twice(lead) -> None:
    desk, _, client, url = lead
    text = preset_text("wialon")
    check = client.post(url, {"step": "check", "source": text}).content.decode()
    assert "This version label is already published" in check
    response = client.post(url, {"step": "publish", "source": text, "when": "now"})
    assert "Version 2026-01 is already published" in response.content.decode()
    assert RegulationVersion.objects.filter(desk=desk).count() == 1


def test_staff_agents_manage_it_and_see_the_admin_link() -> None:
    desk = wialon_desk()
    user, _ = agent_client(desk)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = login(user)
    page = client.get(reverse("workspace:regulation", args=[desk.slug])).content.decode()
    assert reverse("admin:app_list", args=["directory"]) in page


def test_a_staff_user_who_is_no_agent_gets_403() -> None:
    wialon_desk()
    client = login(UserFactory(is_staff=True))
    assert client.get(reverse("workspace:regulation", args=["wialon"])).status_code == 403


def test_a_pasted_copy_of_the_current_version_has_no_differences(lead) -> None:
    _, _, client, url = lead
    pasted = preset_text("wialon").replace("\n", "\r\n").rstrip("\r\n")
    page = client.post(url, {"step": "check", "source": pasted}).content.decode()
    assert "No differences." in page
