"""Where material files live, behind one interface: a directory (the embedded default) or an
S3-compatible object store (production). Files are addressed by their SHA-256, so a file several parts
or cases use is stored once, and what is read back can be checked against its name."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from shared.settings import MaterialsSettings

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

CHUNK = 256 * 1024


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    media_type: str

    @property
    def reference(self) -> str:
        """How a case names it among its materials."""
        return f"sha256:{self.sha256}"


class MaterialStore(Protocol):
    staging: Path  # a local directory where an upload is written, hashed and checked before it is stored

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def has(self, sha256: str) -> bool: ...
    async def put(self, staged: Path, sha256: str) -> None:
        """Take a staged file (checked, its hash known) into the store; the staged file is gone after."""

    def read(self, sha256: str) -> AsyncIterator[bytes]:
        """The file's bytes in chunks (never whole in memory); FileNotFoundError if it is not stored."""

    async def remove(self, sha256: str) -> None: ...


class FilesystemStore:
    """`<root>/objects/ab/abcdef…`: written by rename from `<root>/staging`, so a file is whole or absent."""

    def __init__(self, root: Path) -> None:
        self.root, self.staging = root, root / "staging"

    async def start(self) -> None:
        self.staging.mkdir(parents=True, exist_ok=True)

    async def stop(self) -> None:
        pass

    def _path(self, sha256: str) -> Path:
        return self.root / "objects" / sha256[:2] / sha256

    async def has(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    async def put(self, staged: Path, sha256: str) -> None:
        target = self._path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)  # the same content under the same name: replacing it changes nothing

    async def read(self, sha256: str) -> AsyncIterator[bytes]:
        with self._path(sha256).open("rb") as file:
            while chunk := await asyncio.to_thread(file.read, CHUNK):
                yield chunk

    async def remove(self, sha256: str) -> None:
        self._path(sha256).unlink(missing_ok=True)


class S3Store:
    """One bucket, keys `materials/<sha256>`. Checksums are asked only where S3 requires them: S3-compatible
    servers (S3Proxy, MinIO, Ceph) do not all know the newer checksum headers."""

    def __init__(self, settings: MaterialsSettings, staging: Path) -> None:
        self.settings, self.staging = settings, staging
        self._stack = AsyncExitStack()
        self._client: S3Client | None = None

    async def start(self) -> None:
        self.staging.mkdir(parents=True, exist_ok=True)
        s = self.settings
        client = get_session().create_client(
            "s3",
            endpoint_url=s.s3_endpoint or None,
            region_name=s.s3_region,
            aws_access_key_id=s.s3_access_key or None,
            aws_secret_access_key=s.s3_secret_key or None,
            config=AioConfig(
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                s3={"addressing_style": "path"},
            ),
        )
        self._client = started = await self._stack.enter_async_context(client)
        try:
            await started.head_bucket(Bucket=s.s3_bucket)
        except ClientError:
            await started.create_bucket(Bucket=s.s3_bucket)

    async def stop(self) -> None:
        await self._stack.aclose()
        self._client = None

    @property
    def client(self) -> S3Client:
        if self._client is None:
            raise RuntimeError("the material store is not started")
        return self._client

    def _key(self, sha256: str) -> str:
        return f"materials/{sha256}"

    async def has(self, sha256: str) -> bool:
        try:
            await self.client.head_object(Bucket=self.settings.s3_bucket, Key=self._key(sha256))
            return True
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    async def put(self, staged: Path, sha256: str) -> None:
        with open(staged, "rb") as body:  # noqa: ASYNC230 - botocore reads it in chunks as it sends
            size = os.fstat(body.fileno()).st_size
            await self.client.put_object(Bucket=self.settings.s3_bucket, Key=self._key(sha256), Body=body, ContentLength=size)
        os.unlink(staged)

    async def read(self, sha256: str) -> AsyncIterator[bytes]:
        try:
            answer = await self.client.get_object(Bucket=self.settings.s3_bucket, Key=self._key(sha256))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(sha256) from error
            raise
        async with answer["Body"] as body:
            async for chunk in body.iter_chunks(CHUNK):
                yield chunk

    async def remove(self, sha256: str) -> None:
        await self.client.delete_object(Bucket=self.settings.s3_bucket, Key=self._key(sha256))


async def open_file(store: MaterialStore, sha256: str) -> tuple[bytes, AsyncIterator[bytes]]:
    """The file's first chunk (its type is in it) and all its chunks, the first read already:
    FileNotFoundError now, before an answer has started, rather than in the middle of a response."""
    chunks = store.read(sha256)
    first = await anext(chunks, b"")

    async def whole() -> AsyncIterator[bytes]:
        yield first
        async for chunk in chunks:
            yield chunk

    return first, whole()


def open_store(settings: MaterialsSettings) -> MaterialStore:
    """The store the settings name (not started yet)."""
    if settings.backend == "s3":
        return S3Store(settings, settings.root / "staging")
    return FilesystemStore(settings.root)
