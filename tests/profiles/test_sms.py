"""The SMS backend setting: the backend named in SMS_BACKEND delivers, console and file alike."""

import io

from profiles import sms


def test_the_configured_backend_delivers(settings):
    settings.SMS_BACKEND = "profiles.sms.LocmemBackend"
    sms.outbox.clear()

    assert sms.send_sms(to="+821023456789", body="Your code is 123456") == 1

    assert sms.outbox == [sms.TextMessage(to="+821023456789", body="Your code is 123456")]
    sms.outbox.clear()


def test_the_file_backend_writes_one_file_per_message(settings, tmp_path):
    settings.SMS_BACKEND = "profiles.sms.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")

    sms.send_sms(to="+31612345678", body="Hallo")

    (written,) = (tmp_path / "sms").iterdir()
    assert written.read_text(encoding="utf-8") == "To: +31612345678\n\nHallo\n"


def test_the_console_backend_prints():
    stream = io.StringIO()

    sms.ConsoleBackend(stream=stream).send_messages([sms.TextMessage(to="+31612345678", body="Hallo")])

    assert "SMS to +31612345678:\nHallo" in stream.getvalue()
