"""Regenerate the trimmed GitHub REST OpenAPI subset used by the fake GitHub in the tests.

GitHub publishes its REST API description in the npm package ``@octokit/openapi``
(``generated/api.github.com.json``, about 13 MB). The test harness only needs the operations
the bot calls through PyGithub, so this script keeps those operations and every component they
reference (transitively), drops what validation does not use (examples, ``x-github`` metadata,
tags, webhooks), applies the few documented patches listed in ``PATCHES``, and writes a small,
sorted, stable JSON file.

Usage (from the repository root)::

    .venv/bin/python tools/github_openapi_subset.py            # npm pack into a temp dir
    .venv/bin/python tools/github_openapi_subset.py --source path/to/api.github.com.json

Only the standard library is used; ``npm`` must be on ``PATH`` unless ``--source`` is given.
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PACKAGE = "@octokit/openapi"
VERSION = "23.0.2"
"""Pinned package version; bump it deliberately and re-run the fake GitHub's tests."""
SPEC_IN_PACKAGE = "package/generated/api.github.com.json"
DEFAULT_OUTPUT = (
    Path(__file__).resolve().parent.parent / "sandbox/openapi/api.github.com.subset.json"
)

OPERATIONS: dict[str, tuple[str, ...]] = {
    "/app/installations/{installation_id}/access_tokens": ("post",),
    "/user": ("get",),
    "/rate_limit": ("get",),
    "/repos/{owner}/{repo}": ("get",),
    "/repos/{owner}/{repo}/installation": ("get",),
    "/repos/{owner}/{repo}/pulls": ("get", "post"),
    "/repos/{owner}/{repo}/pulls/{pull_number}": ("get", "patch"),
    "/repos/{owner}/{repo}/pulls/{pull_number}/commits": ("get",),
    "/repos/{owner}/{repo}/pulls/{pull_number}/files": ("get",),
    "/repos/{owner}/{repo}/pulls/{pull_number}/reviews": ("get", "post"),
    "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers": ("get", "post", "delete"),
    "/repos/{owner}/{repo}/pulls/{pull_number}/merge": ("get", "put"),
    "/repos/{owner}/{repo}/issues": ("post",),
    "/repos/{owner}/{repo}/issues/{issue_number}/labels": ("get", "post"),
    "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}": ("delete",),
    "/repos/{owner}/{repo}/labels": ("get", "post"),
    "/repos/{owner}/{repo}/labels/{name}": ("get",),
    "/repos/{owner}/{repo}/commits/{ref}": ("get",),
    "/repos/{owner}/{repo}/commits/{ref}/check-runs": ("get",),
    "/repos/{owner}/{repo}/commits/{ref}/status": ("get",),
    "/repos/{owner}/{repo}/commits/{ref}/statuses": ("get",),
    "/repos/{owner}/{repo}/git/refs": ("post",),
    "/repos/{owner}/{repo}/git/ref/{ref}": ("get",),
    "/repos/{owner}/{repo}/git/tags": ("post",),
    "/repos/{owner}/{repo}/actions/workflows/{workflow_id}": ("get",),
    "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches": ("post",),
    "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs": ("get",),
    "/repos/{owner}/{repo}/actions/runs/{run_id}": ("get",),
    "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs": ("get",),
}
"""The operations kept: what PyGithub calls for the bot's GitHub work (path → methods)."""

_DROP_KEYS = frozenset({"examples", "example", "x-github", "x-octokit", "externalDocs", "tags"})


def _labels_array_form(spec: dict[str, Any]) -> None:
    """Accept a bare array of label names when adding labels to an issue.

    The operation's description says "You can also pass an ``array`` of labels directly", and
    GitHub accepts it, but the schema only lists the ``{"labels": [...]}`` form. PyGithub's
    ``add_to_labels`` sends the bare array.
    """
    operation = spec["paths"]["/repos/{owner}/{repo}/issues/{issue_number}/labels"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    bare = {"type": "array", "minItems": 1, "items": {"type": "string"}}
    if bare not in schema["oneOf"]:
        schema["oneOf"].append(bare)


def _walk(node: Any) -> Iterator[Any]:
    """Yield ``node`` and every dict and list inside it."""
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        yield from _walk(child)


_NULL_ALTERNATIVE = {"type": "object", "nullable": True, "enum": [None]}


def _nullable_semantics(spec: dict[str, Any]) -> None:
    """Make ``nullable: true`` accept ``null`` where GitHub's description means it to.

    OpenAPI 3.0.3 says ``nullable`` only adds ``null`` next to ``type``, and that other
    keywords (``enum``) keep their effect, so a strict validator (openapi-core) rejects
    ``null`` for ``{"nullable": true, "oneOf": [...]}`` (a commit's ``author`` when its email
    belongs to no account) and for a nullable ``enum`` without ``null`` (a check run's
    ``conclusion`` while it runs), although GitHub sends ``null`` in both. An explicit null
    alternative, or ``null`` in the enum, restores the meaning without loosening anything else.
    """
    for node in _walk(spec):
        if not isinstance(node, dict) or node.get("nullable") is not True:
            continue
        if "enum" in node and None not in node["enum"]:
            node["enum"].append(None)
        if "type" in node:
            continue
        for keyword in ("oneOf", "anyOf"):
            if keyword in node and _NULL_ALTERNATIVE not in node[keyword]:
                node[keyword].append(dict(_NULL_ALTERNATIVE))


def _simple_pull_label_description(spec: dict[str, Any]) -> None:
    """A label's ``description`` in a listed pull request is nullable, as everywhere else.

    ``label`` and ``pull-request`` declare it ``nullable``, ``pull-request-simple`` (the list
    and review-request answers) does not, yet GitHub sends ``null`` for a label created
    without a description in all of them.
    """
    labels = spec["components"]["schemas"]["pull-request-simple"]["properties"]["labels"]
    labels["items"]["properties"]["description"]["nullable"] = True


def _created_search_syntax(spec: dict[str, Any]) -> None:
    """The workflow runs' ``created`` filter takes GitHub's date search syntax.

    Its description says so ("within the given date-time range … see Understanding the
    search syntax": ``>=2026-12-03T10:00:00Z``, ``A..B``) and GitHub accepts it, but the
    schema says ``format: date-time``, which only a bare timestamp meets.
    """
    schema = spec["components"]["parameters"]["created"]["schema"]
    schema.pop("format", None)


PATCHES = (
    _labels_array_form,
    _nullable_semantics,
    _simple_pull_label_description,
    _created_search_syntax,
)
"""Documented deviations from the published schema, applied after trimming."""


def _fetch(version: str, workdir: Path) -> Path:
    """``npm pack`` the package into ``workdir`` and return the extracted spec's path."""
    subprocess.run(
        ["npm", "pack", "--silent", f"{PACKAGE}@{version}"],
        cwd=workdir,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (tarball,) = workdir.glob("*.tgz")
    with tarfile.open(tarball) as archive:
        member = archive.getmember(SPEC_IN_PACKAGE)
        archive.extractall(workdir, members=[member], filter="data")
    return workdir / SPEC_IN_PACKAGE


def _refs(node: Any) -> Iterator[str]:
    """Yield every ``$ref`` target inside ``node``."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _strip(node: Any) -> Any:
    """Return ``node`` without the keys validation does not use.

    Names under ``properties`` are property names, not keywords, so they are always kept.
    """
    if isinstance(node, list):
        return [_strip(value) for value in node]
    if not isinstance(node, dict):
        return node
    stripped: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            stripped[key] = {name: _strip(schema) for name, schema in value.items()}
        elif key not in _DROP_KEYS:
            stripped[key] = _strip(value)
    return stripped


def build_subset(full: dict[str, Any], version: str) -> dict[str, Any]:
    """Return the subset of ``full`` with ``OPERATIONS`` and the components they reference."""
    paths: dict[str, Any] = {}
    for path, methods in OPERATIONS.items():
        item = full["paths"][path]
        kept = {method: item[method] for method in methods}
        if "parameters" in item:
            kept["parameters"] = item["parameters"]
        paths[path] = kept

    components: dict[str, dict[str, Any]] = {}
    pending = list(_refs(paths))
    while pending:
        ref = pending.pop()
        if not ref.startswith("#/components/"):
            raise ValueError(f"unexpected $ref {ref!r}")
        _, _, section, name = ref.split("/", 3)
        if section == "examples" or name in components.get(section, {}):
            continue
        target = full["components"][section][name]
        components.setdefault(section, {})[name] = target
        pending.extend(_refs(target))

    subset: dict[str, Any] = {
        "openapi": full["openapi"],
        "info": {
            **{k: full["info"][k] for k in ("title", "version", "license") if k in full["info"]},
            "description": (
                f"Trimmed subset of {PACKAGE}@{version} generated/api.github.com.json for the "
                "Hotfix Bot's fake GitHub. Regenerate with tools/github_openapi_subset.py; "
                "see sandbox/openapi/README.md."
            ),
        },
        "servers": full["servers"],
        "paths": paths,
        "components": {
            section: dict(sorted(entries.items()))
            for section, entries in sorted(components.items())
        },
    }
    subset = _strip(copy.deepcopy(subset))
    for patch in PATCHES:
        patch(subset)
    return subset


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--version", default=VERSION, help=f"{PACKAGE} version (default %(default)s)"
    )
    parser.add_argument("--source", type=Path, help="use this api.github.com.json, skip npm")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="octokit-openapi-") as tmp:
        source = args.source or _fetch(args.version, Path(tmp))
        full = json.loads(source.read_text(encoding="utf-8"))
        subset = build_subset(full, args.version)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(subset, indent=1, sort_keys=False, ensure_ascii=False) + "\n"
    args.output.write_text(text, encoding="utf-8")
    counts = {section: len(entries) for section, entries in subset["components"].items()}
    operations = sum(len(methods) for methods in OPERATIONS.values())
    print(f"wrote {args.output} ({len(text) / 1024:.0f} KiB): {operations} operations, {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
