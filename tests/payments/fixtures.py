"""Provider payloads kept as files, read as the raw bytes a provider would send."""

import json
from pathlib import Path
from typing import Any

PAYLOADS = Path(__file__).resolve().parent / "payloads"


def raw_payload(provider: str, name: str) -> bytes:
    return (PAYLOADS / provider / f"{name}.json").read_bytes()


def payload(provider: str, name: str) -> Any:
    return json.loads(raw_payload(provider, name))


def as_body(document: Any) -> bytes:
    return json.dumps(document, indent=2).encode("utf-8")
