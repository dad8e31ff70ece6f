"""The package's import map, and the rules docs/ARCHITECTURE.md ("Floors") states for it.

``python -m tests.layout`` prints every room's floor and what it imports;
tests/unit/test_layout.py checks the rules. Imports are read from the source (``ast``), at
module level and inside functions alike: a lazy import upward is still a dependency upward.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("rds_backup", "events", "handlers")
# Bottom-up. A module may import its own floor and the floors below, never one above.
FLOORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "ground",
        (
            "rds_backup",
            "rds_backup.arns",
            "rds_backup.aws",
            "rds_backup.clock",
            "rds_backup.errors",
            "rds_backup.observability",
            "rds_backup.settings",
        ),
    ),
    ("contracts and the pure model", ("events", "rds_backup.model")),
    ("state on AWS", ("rds_backup.state",)),
    ("limits and mail", ("rds_backup.limits", "rds_backup.mail")),
    (
        "what steps share: outcomes, drills, the vault",
        ("rds_backup.outcomes", "rds_backup.drills", "rds_backup.vault"),
    ),
    ("steps", ("rds_backup.steps",)),
    ("handlers", ("handlers",)),
    ("operator commands", ("rds_backup.ops",)),
    ("the local AWS", ("rds_backup.local",)),
    ("the command line", ("rds_backup.cli",)),
)
STEPS = "rds_backup.steps"
MODEL = "rds_backup.model"
# The operator commands run against real AWS: they never import the local emulator (the
# local AWS answers their calls as AWS does instead).
OPERATOR_COMMANDS = ("rds_backup.ops", "rds_backup.cli.operator")


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str  # a module of the project, or a top-level third-party name
    line: int
    module_level: bool


@cache
def modules() -> dict[str, Path]:
    """Every module of the project's packages, by dotted name."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            dotted = path.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
            found[dotted.removesuffix(".__init__")] = path
    return found


def _resolve(name: str) -> str:
    """The project module ``name`` is in (``rds_backup.limits.Slot`` → ``rds_backup.limits``),
    or its top-level name when it is not the project's."""
    known = modules()
    candidate = name
    while candidate and candidate not in known:
        candidate = candidate.rpartition(".")[0]
    return candidate or name.split(".")[0]


@cache
def imports_of(module: str) -> tuple[Import, ...]:
    path = modules()[module]
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    top_level = {id(node) for node in tree.body}
    for node in tree.body:  # `if TYPE_CHECKING:` blocks are still module level
        if isinstance(node, ast.If):
            top_level.update(id(child) for child in node.body)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            imported = _resolve(name)
            if imported != module:
                found.append(Import(module, imported, node.lineno, id(node) in top_level))
    return tuple(found)


def floor_of(module: str) -> int | None:
    """The floor of a project module (the longest room prefix decides), None if it has none."""
    best: tuple[int, int] | None = None
    for number, (_, rooms) in enumerate(FLOORS):
        for room in rooms:
            if module == room or module.startswith(room + "."):
                length = len(room)
                if best is None or length > best[1]:
                    best = (number, length)
    return None if best is None else best[0]


def project_imports() -> Iterator[Import]:
    for module in modules():
        for found in imports_of(module):
            if found.imported in modules():
                yield found


def upward_imports(imports: Iterable[Import] | None = None) -> list[Import]:
    """Imports from a floor to a higher one."""
    wrong = []
    for found in project_imports() if imports is None else imports:
        low, high = floor_of(found.importer), floor_of(found.imported)
        if low is None or high is None or high > low:
            wrong.append(found)
    return wrong


def cycles(imports: Iterable[Import] | None = None) -> list[list[str]]:
    """Cycles among module-level imports (what Python runs at import time)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for found in project_imports() if imports is None else imports:
        if found.module_level:
            graph[found.importer].add(found.imported)
    seen: set[str] = set()
    stack: list[str] = []
    on_stack: set[str] = set()
    loops: list[list[str]] = []

    def visit(node: str) -> None:
        seen.add(node)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt in on_stack:
                loops.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in seen:
                visit(nxt)
        stack.pop()
        on_stack.discard(node)

    for start in sorted(graph):
        if start not in seen:
            visit(start)
    return loops


def in_room(module: str, room: str) -> bool:
    return module == room or module.startswith(room + ".")


def step_to_step(imports: Iterable[Import] | None = None) -> list[Import]:
    """A step importing another step (what two steps share has its own module below)."""
    return [
        found
        for found in (project_imports() if imports is None else imports)
        if in_room(found.importer, STEPS)
        and found.importer != STEPS
        and in_room(found.imported, STEPS)
        and found.imported != STEPS
    ]


def impure_model(imports: Iterable[Import] | None = None) -> list[Import]:
    """A model module importing boto3/botocore or anything above the model's floor."""
    model_floor = floor_of(MODEL)
    assert model_floor is not None
    every = (f for m in modules() for f in imports_of(m)) if imports is None else imports
    return [
        found
        for found in every
        if in_room(found.importer, MODEL)
        and (
            found.imported in ("boto3", "botocore") or (floor_of(found.imported) or 0) > model_floor
        )
    ]


def operators_importing_local(imports: Iterable[Import] | None = None) -> list[Import]:
    return [
        found
        for found in (project_imports() if imports is None else imports)
        if any(in_room(found.importer, room) for room in OPERATOR_COMMANDS)
        and in_room(found.imported, "rds_backup.local")
    ]


def render() -> str:
    """Each floor, its rooms, and which floors each room imports."""
    lines = []
    by_room: dict[str, set[int]] = defaultdict(set)
    for found in project_imports():
        room = _room(found.importer)
        floor = floor_of(found.imported)
        if floor is not None and _room(found.imported) != room:
            by_room[room].add(floor)
    for number in reversed(range(len(FLOORS))):
        name, rooms = FLOORS[number]
        lines.append(f"{number}  {name}")
        for room in rooms:
            uses = ", ".join(str(f) for f in sorted(by_room.get(room, ())))
            count = sum(1 for m in modules() if _room(m) == room)
            lines.append(f"     {room:<28} {count:>3} modules   imports floors: {uses or '-'}")
    return "\n".join(lines)


def _room(module: str) -> str:
    best = module
    length = -1
    for _, rooms in FLOORS:
        for room in rooms:
            if in_room(module, room) and len(room) > length:
                best, length = room, len(room)
    return best


if __name__ == "__main__":
    print(render())
    problems = upward_imports() + step_to_step() + impure_model() + operators_importing_local()
    print()
    for found in problems:
        print(f"wrong: {found.importer}:{found.line} imports {found.imported}", file=sys.stderr)
    for loop in cycles():
        print("cycle: " + " -> ".join(loop), file=sys.stderr)
