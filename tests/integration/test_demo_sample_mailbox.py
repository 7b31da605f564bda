"""The demo on the bundled sample mailbox gives what its README says of the messages that
depend on others read in the same run: Sarah Okafor's reply to the acknowledgement of
CMP-2026-00001 threads onto that case (no second case, no second acknowledgement). Routing
decides each message after those before it in the batch have been acted on, so a mailbox
replayed with its history threads as it did."""

from __future__ import annotations

import json
from pathlib import Path

from worker.demo import run_demo

REPLY = "new/1795028700.M027P4711.demo"


def test_a_reply_in_the_same_run_threads_onto_the_case_it_answers(tmp_path: Path) -> None:
    out = tmp_path / "demo-out"
    assert run_demo(None, str(out)) == 0
    summary = {entry["source"]: entry for entry in json.loads((out / "summary.json").read_text())}
    reply = summary[REPLY]
    assert reply["outcome"] == "threaded"
    assert reply["case_ref"] == "CMP-2026-00001"
    assert "stage1_acknowledgement" not in reply["letters"]
    acknowledged = [
        e["case_ref"] for e in summary.values() if "stage1_acknowledgement" in e.get("letters", [])
    ]
    assert acknowledged.count("CMP-2026-00001") == 1
    assert len(summary) == 29
