from pathlib import Path

from merchants.permissions import role_matrix_markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_shows_the_role_matrix_the_code_enforces():
    assert role_matrix_markdown() in README.read_text(), (
        "README.md's role matrix is out of date; paste merchants.permissions.role_matrix_markdown() into it."
    )
