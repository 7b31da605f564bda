"""Attachment downloads for staff (issue 9, item 4). The body is always sent as
``application/octet-stream`` with ``Content-Disposition: attachment`` and ``nosniff``, under a
sandboxing CSP, so no browser renders it: an HTML or SVG attachment could otherwise run script
on the console's origin."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from worker.service import attachments
from worker.web.auth import StaffUser

if TYPE_CHECKING:
    from worker.bootstrap import App

log = logging.getLogger(__name__)


def attachments_of(core: App, inbound_id: int) -> list[attachments.AttachmentInfo]:
    """For the templates: the attachments of one message; a message that cannot be read lists
    none rather than breaking the page (the log has the cause)."""
    try:
        return attachments.list_for(core, [inbound_id]).get(inbound_id, [])
    except Exception:  # noqa: BLE001
        log.exception("attachments of message %s could not be listed", inbound_id)
        return []


async def download(request: Request, user: StaffUser, form: FormData | None) -> Response:
    from worker.web.app import render, web

    inbound_id = int(request.path_params["inbound_id"])
    index = int(request.path_params["index"])
    try:
        got = await run_in_threadpool(
            attachments.download, web(request).core, inbound_id, index, by=user.name
        )
    except attachments.AttachmentNotFound:
        return render(
            request,
            "error.html",
            {"title": "Attachment not found", "message": "There is no such attachment."},
            status=404,
        )
    return Response(
        got.body,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": attachments.content_disposition(got.filename),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )
