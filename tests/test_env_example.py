import re
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def test_env_example_lists_every_variable_the_settings_read():
    settings_source = (BASE_DIR / "config" / "settings.py").read_text()
    read = set(re.findall(r'env\.\w+\(\s*"([A-Z_]+)"', settings_source))
    read |= set(re.findall(r'_secret\(\s*"([A-Z_]+)"', settings_source))
    procfile = set(re.findall(r"\$\{([A-Z_]+)", (BASE_DIR / "Procfile").read_text()))
    listed = set(re.findall(r"^([A-Z_]+)=", (BASE_DIR / ".env.example").read_text(), re.MULTILINE))

    assert read, "the pattern found no settings"
    assert (read | procfile) - listed == set()
