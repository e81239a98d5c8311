"""The regulation's text as HTML: structure kept, nothing the text says taken as markup."""

from __future__ import annotations

import pytest

from regdesk.core.loader import load_regulation
from regdesk.core.render import render_regulation
from regdesk.portal.markup import regulation_html


def test_headings_lists_tables_and_paragraphs() -> None:
    text = (
        "# Title\n"
        "Version 1\n"
        "Organisation: X\n"
        "\n"
        "## Contact\n"
        "\n"
        "- first\n"
        "  - nested\n"
        "    - deeper\n"
        "- second\n"
        "\n"
        "1. one\n"
        "2. two\n"
        "\n"
        "| Applies to | Target |\n"
        "| --- | --- |\n"
        "| all | 1 h |\n"
    )
    html, headings = regulation_html(text)
    assert '<h1 id="title">Title</h1>' in html
    assert "<p>Version 1<br>Organisation: X</p>" in html
    assert (
        "<ul><li>\nfirst\n<ul><li>\nnested\n<ul><li>\ndeeper\n</li></ul>\n</li></ul>\n"
        "</li><li>\nsecond\n</li></ul>"
    ) in html
    assert "<ol><li>\none\n</li><li>\ntwo\n</li></ol>" in html
    assert '<th scope="col">Applies to</th>' in html
    assert "<td>1 h</td>" in html
    assert [(h.level, h.anchor) for h in headings] == [(1, "title"), (2, "contact")]


def test_everything_is_escaped_and_only_web_addresses_become_links() -> None:
    text = (
        "## <script>alert(1)</script>\n"
        '- see https://example.com/a?b=1&c=2. and javascript:alert(1) "quoted"\n'
        "| <b>x</b> | --- |\n"
    )
    html, _ = regulation_html(text)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<a href="https://example.com/a?b=1&amp;c=2" rel="nofollow noopener">' in html
    assert 'href="javascript' not in html
    assert "&quot;quoted&quot;" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


@pytest.mark.parametrize("preset", ["wialon", "m2m", "wildix", "service-desk", "waviot"])
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_preset_renders_to_balanced_html(preset: str, lang: str) -> None:
    html, headings = regulation_html(render_regulation(load_regulation(preset), lang=lang))
    assert headings[0].level == 1
    for tag in ("ul", "ol", "li", "table", "p"):
        assert html.count(f"<{tag}>") + html.count(f"<{tag} ") == html.count(f"</{tag}>"), tag
