"""The import rule of the layout (README, "Layout"): an app imports only apps below it.

    core ← merchants ← profiles ← {payments, insights, loyalty} ← campaigns ← {exports, imports, outbound} ← demo

Apps on one level (payments, insights, loyalty) import none of the others. Imports inside functions
count as much as those at the top of a module: a lazy import is still a dependency. `config`,
`tests` and `benchmarks` stand above every app; no app imports them.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

LEVELS = {
    "core": 0,
    "merchants": 1,
    "profiles": 2,
    "payments": 3,
    "insights": 3,
    "loyalty": 3,
    "campaigns": 4,
    "exports": 5,
    "outbound": 5,
    "imports": 5,
    "demo": 6,
}
ABOVE_EVERY_APP = ("config", "tests", "benchmarks")


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def layout_violations(root: Path = ROOT) -> list[str]:
    """Every import in an app's code (migrations included) that reaches an app not below it."""
    violations = []
    for app, level in LEVELS.items():
        for path in sorted((root / app).rglob("*.py")):
            for line, module in _imported_modules(path):
                target = module.split(".")[0]
                where = f"{path.relative_to(root)}:{line} imports {module}"
                if target in ABOVE_EVERY_APP:
                    violations.append(f"{where} ({target} stands above every app)")
                elif target in LEVELS and target != app and LEVELS[target] >= level:
                    violations.append(f"{where} ({app} may import only apps below it)")
    return violations


def test_no_app_imports_an_app_at_or_above_its_level():
    assert layout_violations() == []


def test_the_rule_catches_an_upward_import_even_inside_a_function(tmp_path):
    # given a copy of the layout where profiles reaches up to campaigns from inside a function
    for app in LEVELS:
        (tmp_path / app).mkdir()
    (tmp_path / "profiles" / "views.py").write_text("def page():\n    from campaigns import selectors\n")
    (tmp_path / "loyalty" / "services.py").write_text("import insights.selectors\n")
    (tmp_path / "core" / "errors.py").write_text("from config import settings\n")

    # when / then
    assert layout_violations(tmp_path) == [
        "core/errors.py:1 imports config.settings (config stands above every app)",
        "profiles/views.py:2 imports campaigns.selectors (profiles may import only apps below it)",
        "loyalty/services.py:1 imports insights.selectors (loyalty may import only apps below it)",
    ]


@pytest.mark.parametrize("app", sorted(LEVELS))
def test_every_app_of_the_rule_exists(app):
    assert (ROOT / app / "apps.py").is_file()
