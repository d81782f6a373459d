"""The files a shop hands Formloop: a CSV of gift codes is read whatever its line endings, or refused whole with
the line to fix, never a 500; and a local outbox name that no file could have is simply not there."""
from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from chalicelib.core.errors import CodesRejectedError, NotFoundError
from chalicelib.gifts.campaigns import parse_codes_csv
from chalicelib.mail.transport import OutboxMailer


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_codes_are_read_whatever_the_line_endings(ending: str) -> None:
    text = ending.join(["code", "SPRING-A1", "spring-b2", ""])
    assert parse_codes_csv(text) == [("SPRINGA1", "SPRING-A1"), ("SPRINGB2", "spring-b2")]


def test_a_lone_carriage_return_between_rows_is_a_line_end() -> None:
    assert parse_codes_csv("code\n\r0\n") == [("0", "0")]


def test_a_file_the_csv_reader_cannot_read_is_refused_with_its_line() -> None:
    unterminated = "code\nSPRING-A1\n" + "B" * 200_000 + "\n"  # a field past the csv module's limit
    with pytest.raises(CodesRejectedError, match=r"No codes were loaded: line 3 cannot be read as CSV"):
        parse_codes_csv(unterminated)


def test_an_outbox_name_longer_than_any_file_it_writes_is_not_there(tmp_path: Path) -> None:
    outbox = OutboxMailer(tmp_path)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "Hi"
    message.set_content("Hi")
    name = outbox.send(message, ["b@example.com"])
    assert outbox.entry(name).subject == "Hi"
    for asked in ("a" * 255, "a" * 5000, name + "x" * 300):
        with pytest.raises(NotFoundError):
            outbox.read(asked)
