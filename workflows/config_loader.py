"""Loading the policy file and explaining what is wrong with it: YAML read safely with
duplicate keys reported, then every problem of the whole file at once, each turned into
``<file>: <dotted.path[index]>: <plain English>`` with what to write instead."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final, get_args

import yaml
from pydantic import BaseModel, ValidationError

from workflows.config_errors import ConfigError
from workflows.config_fields import KNOWN_ROLES_CONTEXT, shown
from workflows.config_policy import Policy
from workflows.config_roles import (
    DEFAULT_CRITICAL_APPROVERS,
    DEFAULT_ESCALATION,
    DEFAULT_HIGH_APPROVERS,
)


class _PolicyLoader(yaml.SafeLoader):
    """A safe loader that remembers duplicate keys instead of silently keeping the last."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[str] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[tuple[str, str], int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = (key_node.tag, key_node.value)
            mark = key_node.start_mark
            if key in first_line:
                self.duplicates.append(
                    f"line {mark.line + 1}, column {mark.column + 1}: duplicate key "
                    f"{key_node.value!r} (first on line {first_line[key]}); "
                    "YAML would keep only the last one"
                )
            else:
                first_line[key] = mark.line + 1
        return super().construct_mapping(node, deep=deep)


def load_policy(path: Path | str) -> Policy:
    """Read and validate the policy file at ``path``.

    Raises:
        ConfigError: every problem in the file at once, one per line, formatted
            ``<path as given>: <dotted.path[index]>: <problem>``.
    """
    name = str(path)
    data, duplicates = _read_yaml(Path(path), name)
    if not isinstance(data, Mapping):
        raise ConfigError([_top_level_problem(name, data)])

    roles = data.get("roles")
    # None when roles is missing or malformed: that is reported, and references go unchecked.
    known_roles = {str(k) for k in roles} if isinstance(roles, Mapping) else None
    problems = [f"{name}: {line}" for line in duplicates]
    policy: Policy | None = None
    try:
        policy = Policy.model_validate(data, context={KNOWN_ROLES_CONTEXT: known_roles})
    except ValidationError as error:
        problems += [f"{name}: {line}" for detail in error.errors() for line in _explain(detail)]
    if known_roles is not None:
        problems += [f"{name}: {line}" for line in _default_role_problems(data, known_roles)]
    if problems or policy is None:
        raise ConfigError(problems)
    return policy


def _read_yaml(path: Path, name: str) -> tuple[Any, list[str]]:
    """The file's YAML content and its duplicate-key problems."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [
                f"{name}: not found — copy hotfix.example.yml to {name} and edit it, "
                "or set HOTFIX_CONFIG"
            ]
        ) from None
    except IsADirectoryError:
        raise ConfigError([f"{name}: is a directory; HOTFIX_CONFIG must name a file"]) from None
    except UnicodeDecodeError as error:
        raise ConfigError([f"{name}: is not UTF-8 text (byte {error.start})"]) from None
    except OSError as error:
        raise ConfigError([f"{name}: cannot be read: {error.strerror}"]) from None

    loader = _PolicyLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        raise ConfigError([f"{name}: {_yaml_syntax_problem(error)}"]) from None
    except yaml.YAMLError as error:
        raise ConfigError([f"{name}: is not valid YAML: {error}"]) from None
    finally:
        loader.dispose()
    return data, loader.duplicates


def _yaml_syntax_problem(error: yaml.MarkedYAMLError) -> str:
    mark = error.problem_mark or error.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    problem = error.problem or "could not parse this"
    context = ""
    if error.context and error.context_mark:
        context_mark = error.context_mark
        context = (
            f" ({error.context} at line {context_mark.line + 1}, column {context_mark.column + 1})"
        )
    elif error.context:
        context = f" ({error.context})"
    return f"{where}invalid YAML: {problem}{context}"


def _top_level_problem(name: str, data: Any) -> str:
    if data is None:
        return (
            f"{name}: the file is empty — copy hotfix.example.yml to {name} and edit it, "
            "or set HOTFIX_CONFIG"
        )
    return (
        f"{name}: expected a mapping of keys (repository:, roles:, approvals:, …) at the top "
        f"level, got {shown(data)}"
    )


def _default_role_problems(data: Mapping[str, Any], known_roles: set[str]) -> list[str]:
    """Defaults that name roles the file does not define (explicit lists are checked inline)."""
    approvals = data.get("approvals")
    approvals = approvals if approvals is not None else {}
    defaults: list[tuple[str, tuple[str, ...], bool]] = [
        ("escalation", DEFAULT_ESCALATION, "escalation" not in data),
    ]
    if isinstance(approvals, Mapping):
        defaults[:0] = [
            ("approvals.critical", DEFAULT_CRITICAL_APPROVERS, "critical" not in approvals),
            ("approvals.high", DEFAULT_HIGH_APPROVERS, "high" not in approvals),
        ]
    problems = []
    for path, default, omitted in defaults:
        missing = [role for role in default if role not in known_roles]
        if omitted and missing:
            listed = ", ".join(repr(r) for r in missing)
            problems.append(
                f"{path}: the default [{', '.join(default)}] names {listed}, which "
                f"{'is' if len(missing) == 1 else 'are'} not defined under roles: "
                f"define {'it' if len(missing) == 1 else 'them'} under roles or set {path}"
            )
    return problems


def _explain(detail: Mapping[str, Any]) -> list[str]:
    """Turn one pydantic error into ``dotted.path[index]: plain English`` lines."""
    loc: tuple[str | int, ...] = tuple(detail["loc"])
    kind: str = detail["type"]
    value = detail.get("input")

    if loc and loc[-1] == "[key]":  # a dictionary key (a role name) is wrong
        loc = loc[:-1]
    where = _dotted(loc)
    prefix = f"{where}: " if where else ""

    if kind == "value_error":
        message = str(detail["ctx"]["error"])
        # Errors from a whole-model check already carry their own locations, one per line.
        return message.splitlines() if not loc else [prefix + message]
    if kind == "missing":
        return [prefix + "required key is missing"]
    if kind == "extra_forbidden":
        return [prefix + _unknown_key(loc)]
    expected = _expected(loc, kind)
    if expected is not None:
        return [prefix + f"expected {expected}, got {shown(value)}{_list_hint(kind, value)}"]
    return [prefix + str(detail["msg"])]


def _dotted(loc: Sequence[str | int]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def _section_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model that validates the mapping at ``loc``, if that mapping is a model."""
    model: type[BaseModel] = Policy
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return None
        candidates = (field.annotation, *get_args(field.annotation))
        found = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not found:
            return None
        model = found[0]
    return model


def _unknown_key(loc: Sequence[str | int]) -> str:
    section = _section_at(loc[:-1])
    known = list(section.model_fields) if section else []
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    if close:
        return f"unknown key (did you mean {close[0]!r}?)"
    return f"unknown key (known keys: {', '.join(known)})"


_LIST_ITEMS: Final = {
    "merge_back": "branch names, such as [main, develop]",
    "critical": "role names, such as [engineering_manager, oncall_lead, cto]",
    "high": "role names, such as [engineering_manager, oncall_lead]",
    "escalation": "role names, such as [oncall_lead, engineering_manager, cto]",
}


def _expected(loc: Sequence[str | int], kind: str) -> str | None:
    if kind in ("list_type", "tuple_type", "iterable_type"):
        if len(loc) == 2 and loc[0] == "roles":
            return "a list of Slack user ids (U…/W…) or user group ids (S…), such as [U0123ABCD]"
        return f"a list of {_LIST_ITEMS.get(str(loc[-1]), 'values')}" if loc else "a list"
    if kind == "dict_type" and list(loc) == ["roles"]:
        return "a mapping of role names to lists of Slack ids, such as cto: [U0123ABCD]"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        section = _section_at(loc)
        keys = f" with keys {', '.join(section.model_fields)}" if section else ""
        return f"a mapping{keys}"
    if kind == "string_type":
        if loc and loc[0] == "roles" and len(loc) >= 3:
            return "a Slack user id (U…/W…) or user group id (S…)"
        if loc and loc[0] in ("roles", "approvals", "escalation"):
            return "a role name"
        return "text"
    if kind in ("bool_type", "bool_parsing"):
        return "true or false"
    return None


def _list_hint(kind: str, value: Any) -> str:
    scalar = isinstance(value, str | int | float) and not isinstance(value, bool)
    return f" (write [{value}])" if kind in ("list_type", "tuple_type") and scalar else ""
