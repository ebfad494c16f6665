"""The local S3-compatible server (deploy/s3proxy_local.py) answers a real S3 client as S3 does:
signed requests, buckets, objects, presigned URLs; and it ends when stopped."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import httpx
import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from deploy.s3proxy_local import DATA, LocalS3Proxy, S3Access

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

# S3Proxy implements none of the checksum headers recent botocore adds by default.
CLIENT_CONFIG = AioConfig(
    request_checksum_calculation="when_required",
    response_checksum_validation="when_required",
    s3={"addressing_style": "path"},
    signature_version="s3v4",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalS3Proxy]:
    server = LocalS3Proxy(workdir=tmp_path_factory.mktemp("s3proxy"))
    server.start()
    yield server
    process = server.process
    assert process is not None
    server.stop()
    assert process.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.kill(process.pid, 0)  # ended and reaped
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.endpoint, timeout=2)


@pytest.fixture
def access(server: LocalS3Proxy) -> S3Access:
    assert server.access is not None
    return server.access


@asynccontextmanager
async def s3_client(access: S3Access, secret_key: str | None = None) -> AsyncIterator[S3Client]:
    async with get_session().create_client(
        "s3",
        endpoint_url=access.endpoint,
        region_name=access.region,
        aws_access_key_id=access.access_key,
        aws_secret_access_key=secret_key or access.secret_key,
        config=CLIENT_CONFIG,
    ) as client:
        yield client


async def test_an_object_goes_in_and_comes_back_also_through_a_presigned_url(server: LocalS3Proxy, access: S3Access) -> None:
    content = os.urandom(70_000) + "材料 — 营业执照.pdf".encode()
    async with s3_client(access) as s3:
        await s3.create_bucket(Bucket="materials")
        await s3.put_object(Bucket="materials", Key="case-1/licence.pdf", Body=content, ContentType="application/pdf")

        got = await s3.get_object(Bucket="materials", Key="case-1/licence.pdf")
        async with got["Body"] as body:
            assert await body.read() == content
        assert got["ContentType"] == "application/pdf"
        listed = await s3.list_objects_v2(Bucket="materials", Prefix="case-1/")
        assert [item["Key"] for item in listed["Contents"]] == ["case-1/licence.pdf"]

        url = await s3.generate_presigned_url(
            "get_object", Params={"Bucket": "materials", "Key": "case-1/licence.pdf"}, ExpiresIn=60
        )
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
        assert response.status_code == 200
        assert response.content == content
        assert (await http.get(url.replace("Signature=", "Signature=0"))).status_code == 403
        assert (await http.get(f"{access.endpoint}/materials/case-1/licence.pdf")).status_code == 403  # anonymous
    assert (server.workdir / DATA / "materials").is_dir()  # the objects live in the server's own work directory


async def test_a_wrong_secret_is_refused(access: S3Access) -> None:
    async with s3_client(access, secret_key="not-the-secret") as s3:
        with pytest.raises(ClientError) as refused:
            await s3.list_buckets()
    assert refused.value.response["Error"]["Code"] in {"SignatureDoesNotMatch", "AccessDenied", "InvalidAccessKeyId"}
