"""Receiving a file: streamed to a staging file while it is hashed and counted (never whole in memory),
refused past its size limit as soon as it crosses it, its type read from its content (not its name),
handed to the center's virus scanner if one is configured, and only then stored."""

from __future__ import annotations

import asyncio
import hashlib
import shlex
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import filetype

from shared.materials.store import MaterialStore, StoredFile

SNIFF = 8192  # enough of the head of a file for its type
TYPE_TEXT = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG", "image/tiff": "TIFF"}


class UploadRefused(Exception):
    """An upload not taken: `status` 413 (too large), 415 (type), 422 (the scanner's verdict)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


@dataclass(frozen=True)
class UploadRules:
    max_bytes: int = 512 * 1024 * 1024
    media_types: tuple[str, ...] = tuple(TYPE_TEXT)
    scan_command: str = ""  # e.g. "clamdscan --no-summary {path}": exit 0 accepts, anything else refuses
    scan_timeout: float = 300.0

    @property
    def allowed_text(self) -> str:
        return "、".join(TYPE_TEXT.get(t, t) for t in self.media_types)


async def receive(chunks: AsyncIterator[bytes], store: MaterialStore, rules: UploadRules) -> StoredFile:
    """The upload stored, or `UploadRefused` with nothing kept."""
    staged = store.staging / f"upload-{uuid.uuid4().hex}"
    digest, size, head = hashlib.sha256(), 0, b""
    try:
        with staged.open("wb") as file:
            async for chunk in chunks:
                size += len(chunk)
                if size > rules.max_bytes:
                    raise UploadRefused(413, f"文件过大 the file exceeds the limit of {rules.max_bytes} bytes per file")
                if len(head) < SNIFF:
                    head += chunk[: SNIFF - len(head)]
                digest.update(chunk)
                await asyncio.to_thread(file.write, chunk)
        media_type = sniffed(head)
        if media_type not in rules.media_types:
            found = media_type or "unknown"
            raise UploadRefused(
                415, f"文件类型不允许（{found}），只收 {rules.allowed_text} (allowed: {', '.join(rules.media_types)})"
            )
        if rules.scan_command:
            await scan(rules, staged)
        sha256 = digest.hexdigest()
        if not await store.has(sha256):  # else the same bytes are there already: the staged copy goes below
            await store.put(staged, sha256)
        return StoredFile(sha256, size, media_type)
    finally:
        staged.unlink(missing_ok=True)


def sniffed(head: bytes) -> str:
    """The media type the content says it is ("" if it says nothing known)."""
    kind = filetype.guess(head)
    return str(kind.mime) if kind is not None else ""


async def scan(rules: UploadRules, staged: Path) -> None:
    """The center's scanner (a command given the file's path) must accept the file."""
    command = [part.replace("{path}", str(staged)) for part in shlex.split(rules.scan_command)]
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        output, _ = await asyncio.wait_for(process.communicate(), rules.scan_timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise UploadRefused(422, f"病毒扫描超时 the virus scan did not finish in {rules.scan_timeout:g} s") from None
    if process.returncode != 0:
        verdict = output.decode(errors="replace").strip()[-300:]
        raise UploadRefused(422, f"病毒扫描未通过 the virus scan refused the file: {verdict or f'exit {process.returncode}'}")
