"""Text messages to shoppers, through a pluggable backend (like Django's email backends).

`SMS_BACKEND` names a class with `send_messages(messages) -> int`. The console and
file backends serve development; the in-memory one serves tests (`profiles.sms.outbox`);
a real provider's adapter is one more class with the same method.
"""

import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

# Messages the in-memory backend "sent", newest last (tests read and clear it).
outbox: list["TextMessage"] = []


@dataclass(frozen=True)
class TextMessage:
    to: str  # E.164
    body: str


class BaseBackend:
    def send_messages(self, messages: Sequence[TextMessage]) -> int:  # pragma: no cover - interface
        raise NotImplementedError


class ConsoleBackend(BaseBackend):
    def __init__(self, stream=None) -> None:  # type: ignore[no-untyped-def]
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def send_messages(self, messages: Sequence[TextMessage]) -> int:
        with self._lock:
            for message in messages:
                self.stream.write(f"SMS to {message.to}:\n{message.body}\n{'-' * 40}\n")
            self.stream.flush()
        return len(messages)


class FileBackend(BaseBackend):
    """One file per message under SMS_FILE_PATH."""

    def __init__(self, path: str | None = None) -> None:
        self.path = Path(path or settings.SMS_FILE_PATH)

    def send_messages(self, messages: Sequence[TextMessage]) -> int:
        self.path.mkdir(parents=True, exist_ok=True)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
        for index, message in enumerate(messages):
            (self.path / f"{stamp}-{index}.txt").write_text(f"To: {message.to}\n\n{message.body}\n", encoding="utf-8")
        return len(messages)


class LocmemBackend(BaseBackend):
    def send_messages(self, messages: Sequence[TextMessage]) -> int:
        outbox.extend(messages)
        return len(messages)


def get_backend() -> BaseBackend:
    return import_string(settings.SMS_BACKEND)()


def send_sms(*, to: str, body: str) -> int:
    return get_backend().send_messages([TextMessage(to=to, body=body)])
