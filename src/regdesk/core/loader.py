"""Loading regulation files: YAML in, a validated :class:`Regulation` or every error at once.

Errors name the file, the line, the field path and what was expected, e.g.::

    wialon.yaml:42: clocks.first_response.targets.2.target: expected a duration like '3h' …
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from regdesk.core.regulation import Regulation, reference_problems

__all__ = [
    "PRESETS",
    "RegulationError",
    "RegulationProblem",
    "load_regulation",
    "load_regulation_text",
    "preset_path",
    "preset_text",
    "regulation_schema",
]

PRESETS = ("wialon", "m2m", "wildix", "service-desk", "waviot")


@dataclass(frozen=True)
class RegulationProblem:
    """One thing wrong with a regulation file."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '(document)'}: {self.message}"


class RegulationError(ValueError):
    """A regulation file could not be loaded; ``problems`` lists every error found."""

    def __init__(self, problems: list[RegulationProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _line_map(node: yaml.Node, path: tuple[str, ...], out: dict[tuple[str, ...], int]) -> None:
    """Record the (1-based) line of every node, keyed by its path of keys/indexes."""
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            out[(*path, key)] = key_node.start_mark.line + 1
            _line_map(value_node, (*path, key), out)
            out[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, (*path, str(index)), out)


def _nearest_line(lines: dict[tuple[str, ...], int], loc: tuple[str, ...]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _loc_to_keys(loc: tuple[int | str, ...]) -> tuple[str, ...]:
    # pydantic puts union branch names ("dict[str,list[str]]", "str", "function-after[...]")
    # into locations; they are not part of the document's path.
    keys = []
    for part in loc:
        text = str(part)
        if "[" in text or text in {"str", "int", "float", "bool", "list", "dict"}:
            continue
        keys.append(text)
    return tuple(keys)


def _expected(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if error.get("type") == "missing":
        return "required field is missing"
    if error.get("type") == "extra_forbidden":
        return "unknown field (check the spelling; see `regdesk regulation schema`)"
    value = error.get("input")
    if isinstance(value, str | int | float | bool) and repr(value) not in message:
        return f"{message} (got {value!r})"
    return message


def load_regulation_text(text: str, *, file: str = "<regulation>") -> Regulation:
    """Parse and validate regulation YAML; raise :class:`RegulationError` listing all problems."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and context_mark is not None and context_mark.line + 1 != line:
            problem = f"{problem} ({context} that starts on line {context_mark.line + 1})"
        raise RegulationError(
            [RegulationProblem(file, line, "", f"not valid YAML: {problem}")]
        ) from None
    if not isinstance(data, dict):
        raise RegulationError(
            [RegulationProblem(file, 1, "", "expected a mapping of regulation fields")]
        )
    lines: dict[tuple[str, ...], int] = {}
    if root is not None:
        _line_map(root, (), lines)
    try:
        return Regulation.model_validate(data)
    except ValidationError as exc:
        problems = []
        seen: set[tuple[str, str]] = set()
        for error in exc.errors():
            if error["type"] == "unknown_reference":
                continue  # reported one by one below, with their own lines
            keys = _loc_to_keys(error["loc"])
            path = ".".join(keys)
            message = _expected(dict(error))
            if (path, message) in seen:
                continue
            seen.add((path, message))
            problems.append(RegulationProblem(file, _nearest_line(lines, keys), path, message))
        # Cross-references are checked on the raw data so that they are reported together
        # with field errors (pydantic runs the model's own check only once fields are valid).
        for path, message in reference_problems(data):
            keys = tuple(path.split("."))
            problems.append(RegulationProblem(file, _nearest_line(lines, keys), path, message))
        problems.sort(key=lambda p: (p.line or 0, p.path))
        raise RegulationError(problems) from None


def preset_path(name: str) -> Path:
    """Path of a shipped preset file."""
    resource = resources.files("regdesk.presets").joinpath(f"{name}.yaml")
    return Path(str(resource))


def preset_text(name: str) -> str:
    return resources.files("regdesk.presets").joinpath(f"{name}.yaml").read_text("utf-8")


@lru_cache(maxsize=64)
def _load_preset(name: str) -> Regulation:
    return load_regulation_text(preset_text(name), file=f"{name}.yaml")


def load_regulation(name_or_path: str | Path) -> Regulation:
    """Load a shipped preset by name (``waviot``) or a regulation file by path."""
    text = str(name_or_path)
    if text in PRESETS:
        return _load_preset(text)
    path = Path(text)
    if not path.exists():
        known = ", ".join(PRESETS)
        raise RegulationError(
            [RegulationProblem(text, None, "", f"no such preset or file (presets: {known})")]
        )
    return load_regulation_text(path.read_text("utf-8"), file=str(path))


def regulation_schema() -> str:
    """The JSON Schema of a regulation file, for editors."""
    schema = Regulation.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "regdesk support regulation"
    return json.dumps(schema, indent=2, ensure_ascii=False)
