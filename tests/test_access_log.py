"""The web server's access log never carries a card number: the Procfile's gunicorn, for real."""

import contextlib
import http.client
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings

PAN = "4156272358379096"  # Luhn-valid
WIDE_PAN = "".join(chr(0xFF10 + int(digit)) for digit in PAN)  # the same in full-width digits


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _web_command(port: int) -> list[str]:
    procfile = Path(settings.BASE_DIR, "Procfile").read_text().splitlines()
    line = next(line for line in procfile if line.startswith("web:"))
    line = line.removeprefix("web:").replace("${WEB_BIND:-127.0.0.1}:${PORT:-8000}", f"127.0.0.1:{port}")
    line = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda match: os.environ.get(match[1], match[2]), line)
    words = shlex.split(line)
    return [str(Path(sys.executable).parent / words[0]), *words[1:]]


def _get(url: str, user_agent: str) -> None:
    headers = {"User-Agent": user_agent, "Referer": f"http://x/?card={PAN}"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - a local server of the test's own
    # refused (400) or not found: logged all the same
    with contextlib.suppress(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310


def test_the_access_log_masks_card_numbers_in_query_path_and_headers(tmp_path):
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "WEB_CONCURRENCY": "1"}
    log = tmp_path / "web.log"
    with log.open("w") as output:
        server = subprocess.Popen(  # the Procfile's own command
            _web_command(port), stdout=output, stderr=subprocess.STDOUT, env=env, cwd=settings.BASE_DIR
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"{base}/healthz", timeout=1).close()  # noqa: S310
                    break
                except OSError:
                    time.sleep(0.1)
            _get(f"{base}/api/v1/nothing?card={PAN}", "probe")
            _get(f"{base}/api/v1/cards/{PAN}", "probe")
            _get(f"{base}/api/v1/nothing?card=4156%202723%205837%209096&other=4156+2723+5837+9096", "probe")
            _get(f"{base}/healthz", f"agent {PAN}")
            # full-width digits, sent as UTF-8 bytes (urllib would refuse them), reach gunicorn as latin-1
            raw = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            raw.putrequest("GET", "/healthz")
            raw.putheader("User-Agent", f"agent {WIDE_PAN}".encode())
            raw.endheaders()
            raw.getresponse().read()
            raw.close()
        finally:
            server.terminate()
            server.wait(timeout=10)

    written = log.read_text()
    access_lines = [line for line in written.splitlines() if line.startswith("127.0.0.1 - ")]
    assert len(access_lines) >= 5, written[-3000:]  # the four probes and the readiness polls
    for line in written.splitlines():
        assert PAN not in re.sub(r"\D", "", line.replace("%20", " ")), line
    mojibake = WIDE_PAN.encode().decode("latin-1")
    assert all(mojibake not in line and WIDE_PAN not in line for line in written.splitlines())
    assert sum("[REDACTED]" in line for line in access_lines) == 5, access_lines
