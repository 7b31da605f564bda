"""FileSender writes letters as .eml files, once each."""

from __future__ import annotations

import email
import email.message
import email.policy
from collections.abc import Sequence
from pathlib import Path

import pytest

from worker.adapters.file_outbox import FileSender, safe_filename
from worker.domain.errors import TransientError
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


def test_send_batch_announces_every_letter_once_before_writing_any(tmp_path: Path) -> None:
    sender = FileSender(tmp_path)
    seen_on_disk: list[list[str]] = []
    calls: list[list[int]] = []

    def before_data(indices: Sequence[int]) -> None:
        calls.append(list(indices))
        seen_on_disk.append(sorted(p.name for p in tmp_path.iterdir()))

    results = sender.send_batch([letter(f"<b{n}@landlord.example>") for n in range(3)], before_data)

    assert calls == [[0, 1, 2]]
    assert seen_on_disk == [[]]
    assert [(r.index, r.message_id, r.error) for r in results] == [
        (n, f"<b{n}@landlord.example>", None) for n in range(3)
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"b{n}@landlord.example.eml" for n in range(3)
    ]


def test_send_batch_keeps_a_letter_already_written_and_names_new_ones(tmp_path: Path) -> None:
    sender = FileSender(tmp_path)
    sender.send(letter())
    changed = letter()
    changed.replace_header("Subject", "changed")
    unnamed = letter(message_id=None)
    unnamed.replace_header("X-Complaints-Case-Ref", "CMP-2025-0002")

    results = sender.send_batch([changed, unnamed], lambda indices: None)

    assert results[0].message_id == "<ack-1@landlord.example>"
    assert results[1].message_id == unnamed["Message-ID"]
    assert read(tmp_path / "ack-1@landlord.example.eml")["Subject"] == (
        "Your complaint CMP-2025-0001"
    )
    assert (tmp_path / "CMP-2025-0002-stage1_acknowledgement.eml").exists()


def test_send_batch_returns_write_failures_instead_of_raising(tmp_path: Path) -> None:
    (tmp_path / "not-a-directory").write_text("x")
    sender = FileSender(tmp_path / "not-a-directory" / "outbox")

    results = sender.send_batch([letter("<c0@x>"), letter("<c1@x>")], lambda indices: None)

    assert [(r.index, type(r.error)) for r in results] == [(0, TransientError), (1, TransientError)]


def test_send_batch_writes_nothing_when_before_data_fails(tmp_path: Path) -> None:
    def before_data(indices: Sequence[int]) -> None:
        raise RuntimeError("database is down")

    with pytest.raises(RuntimeError, match="database is down"):
        FileSender(tmp_path).send_batch([letter()], before_data)
    assert list(tmp_path.iterdir()) == []


def test_send_batch_of_nothing_does_not_call_before_data(tmp_path: Path) -> None:
    def before_data(indices: Sequence[int]) -> None:
        raise AssertionError("not expected")

    assert FileSender(tmp_path).send_batch([], before_data) == []
