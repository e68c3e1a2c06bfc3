"""An email backend for tests with a real worker: every hand-off is one line in a file, written before the worker
could die (outside any database transaction), so a test counts what reached the channel after a kill.

`RECORDING_EMAIL_FILE` (`RECORDING_SMS_FILE` for texts) names the file; `RECORDING_EMAIL_DELAY` (seconds) is
spent with each message after it is written, as a provider's round trip would be, so that a kill lands while
the channel holds a message.
"""

import os
import time

from django.core.mail.backends.base import BaseEmailBackend

from profiles import sms


class RecordingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        delay = float(os.environ.get("RECORDING_EMAIL_DELAY", "0"))
        for message in email_messages:
            with open(os.environ["RECORDING_EMAIL_FILE"], "a", encoding="utf-8") as handed:
                handed.write(f"{message.extra_headers.get('Message-ID', '')}\t{message.to[0]}\n")
            time.sleep(delay)
        return len(email_messages)


class RecordingSmsBackend(sms.BaseBackend):
    """The same for texts: one line per text (`RECORDING_SMS_FILE`), the number it went to."""

    def send_messages(self, messages):
        delay = float(os.environ.get("RECORDING_EMAIL_DELAY", "0"))
        for message in messages:
            with open(os.environ["RECORDING_SMS_FILE"], "a", encoding="utf-8") as handed:
                handed.write(f"\t{message.to}\n")
            time.sleep(delay)
        return len(messages)
