import json
import logging

import structlog

from config.logging import RedactCardNumbersFilter, json_formatter, redact


def test_card_numbers_are_masked_in_any_spacing():
    for pan in ("4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "378282246310005"):
        assert redact(f"card={pan} ok") == "card=[REDACTED] ok"


def test_short_numbers_survive():
    assert redact("order 123456 of 2026") == "order 123456 of 2026"


def _capture(logger_name):
    stream_records = []

    class ListHandler(logging.Handler):
        def emit(self, record):
            stream_records.append(self.format(record))

    handler = ListHandler()
    handler.setFormatter(json_formatter())
    handler.addFilter(RedactCardNumbersFilter())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    return logger, handler, stream_records


def test_json_log_lines_never_carry_a_card_number():
    logger, handler, lines = _capture("test.redaction")
    try:
        logger.warning("payment with %s failed", "4111111111111111")
        structlog.get_logger("test.redaction").warning("declined", card="5555 5555 5555 4444")
    finally:
        logger.removeHandler(handler)

    assert len(lines) == 2
    for line in lines:
        parsed = json.loads(line)
        assert "4111" not in line and "5555" not in line
        assert "[REDACTED]" in json.dumps(parsed)
