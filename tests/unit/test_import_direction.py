"""Imports run one way, down: `operations` may use `services` and `shared`; `services` and
`infra` never import `operations`; `shared` imports neither `services` nor `operations` (not
even by `importlib` with a computed name). Read from the source, so no module is imported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, anywhere in it (function bodies too), plus the first
    argument of each `importlib.import_module(...)` call (an f-string gives its fixed start)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
        ):
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add(arg.value)
            elif isinstance(arg, ast.JoinedStr) and arg.values:
                first = arg.values[0]
                if isinstance(first, ast.Constant):
                    found.add(str(first.value))
    return found


def offending(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path.relative_to(ROOT)}: {module}"
        for path in (ROOT / package).rglob("*.py")
        for module in imported_modules(path)
        if module.split(".")[0] in forbidden
    )


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("shared", ("services", "operations")),
        ("services", ("operations",)),
        ("infra", ("operations",)),
    ],
)
def test_a_lower_layer_imports_nothing_above_it(package, forbidden):
    assert offending(package, forbidden) == []


def test_the_check_sees_function_local_and_computed_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import importlib\n"
        "def f(service):\n"
        "    from services.audit import keys\n"
        "    return importlib.import_module(f'services.{service}.models')\n"
    )
    assert imported_modules(sample) == {"importlib", "services.audit", "services."}
