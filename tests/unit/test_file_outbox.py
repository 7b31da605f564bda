"""FileSender writes letters as .eml files, once each."""

from __future__ import annotations

import email
import email.message
import email.policy
from pathlib import Path

from worker.adapters.file_outbox import FileSender, safe_filename
from worker.ports import MailSender


def letter(message_id: str | None = "<ack-1@landlord.example>") -> email.message.EmailMessage:
    msg = email.message.EmailMessage()
    msg["From"] = "complaints@landlord.example"
    msg["To"] = "resident@example.org"
    msg["Subject"] = "Your complaint CMP-2025-0001"
    msg["X-Complaints-Case-Ref"] = "CMP-2025-0001"
    msg["X-Complaints-Letter-Kind"] = "stage1_acknowledgement"
    if message_id:
        msg["Message-ID"] = message_id
    msg.set_content("We have received your complaint.\n")
    return msg


def read(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[return-value]


def test_writes_one_eml_named_after_the_message_id(tmp_path: Path) -> None:
    sender = FileSender(tmp_path / "outbox")
    assert isinstance(sender, MailSender)

    assert sender.send(letter()) == "<ack-1@landlord.example>"

    (path,) = (tmp_path / "outbox").iterdir()
    assert path.name == "ack-1@landlord.example.eml"
    assert read(path)["X-Complaints-Letter-Kind"] == "stage1_acknowledgement"
    assert read(path).get_content() == "We have received your complaint.\n"


def test_sending_twice_leaves_one_file_and_keeps_the_first(tmp_path: Path) -> None:
    sender = FileSender(tmp_path)
    sender.send(letter())
    second = letter()
    second.replace_header("Subject", "changed")
    assert sender.send(second) == "<ack-1@landlord.example>"
    (path,) = tmp_path.iterdir()
    assert read(path)["Subject"] == "Your complaint CMP-2025-0001"


def test_without_message_id_uses_ref_and_kind_and_sets_an_id(tmp_path: Path) -> None:
    sender = FileSender(tmp_path)
    msg = letter(message_id=None)
    sent = sender.send(msg)

    (path,) = tmp_path.iterdir()
    assert path.name == "CMP-2025-0001-stage1_acknowledgement.eml"
    assert sent == msg["Message-ID"] == read(path)["Message-ID"]
    assert sent.endswith("@landlord.example>")
    # A retry of the same letter, still without an id, finds the first one.
    assert sender.send(letter(message_id=None)) == sent
    assert len(list(tmp_path.iterdir())) == 1


def test_without_any_name_gets_a_fresh_message_id(tmp_path: Path) -> None:
    msg = email.message.EmailMessage()
    msg["From"] = "complaints@landlord.example"
    msg.set_content("x")
    sent = FileSender(tmp_path).send(msg)
    (path,) = tmp_path.iterdir()
    assert path.name == f"{safe_filename(sent)}.eml"


def test_no_temporary_files_are_left(tmp_path: Path) -> None:
    sender = FileSender(tmp_path)
    for n in range(3):
        sender.send(letter(f"<l{n}@landlord.example>"))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "l0@landlord.example.eml",
        "l1@landlord.example.eml",
        "l2@landlord.example.eml",
    ]


def test_unsafe_message_ids_cannot_escape_the_directory(tmp_path: Path) -> None:
    FileSender(tmp_path / "out").send(letter("<../../etc/passwd@x/y>"))
    (path,) = (tmp_path / "out").iterdir()
    assert path.parent == tmp_path / "out"
    assert "/" not in path.name and not path.name.startswith(".")
