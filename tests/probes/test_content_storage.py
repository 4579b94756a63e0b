"""Object-storage URLs found in text (buckets and the objects in them), and `gather_content`
asking a served S3 bucket, over loopback TLS, for the private-looking objects only."""

from __future__ import annotations

import json
from typing import Any

from connectguard.checks.storage import looks_private
from connectguard.connect.descriptor import parse_descriptor
from connectguard.connect.endpoints import plan_endpoints
from connectguard.fixture import serve_case
from connectguard.model import Exchange
from connectguard.net.http import HttpClient
from connectguard.probes.content import (
    MAX_OBJECTS,
    ContentEvidence,
    gather_content,
    storage_objects,
    storage_targets,
)
from connectguard.settings import Limits


def objects(text: str, limit: int = 500) -> list[tuple[str, str, str]]:
    return [(o.bucket, o.key, o.url) for o in storage_objects([("page", text.encode())], limit)]


def test_object_urls_of_every_storage_kind() -> None:
    text = """
      <img src="https://acme.s3.eu-west-1.amazonaws.com/img/logo.png">
      <a href='https://s3.amazonaws.com/acme-backups/db/2024.sql.gz'>
      url(https://acme-cdn.storage.googleapis.com/fonts/a.woff2)
      "https://storage.googleapis.com/acme-data/exports/Q1%20users.csv"
      https://acmeblobs.blob.core.windows.net/reports/tenant-7/invoice.pdf
    """
    assert objects(text) == [
        ("acme", "img/logo.png", "https://acme.s3.eu-west-1.amazonaws.com/img/logo.png"),
        ("acme-backups", "db/2024.sql.gz", "https://s3.amazonaws.com/acme-backups/db/2024.sql.gz"),
        ("acme-cdn", "fonts/a.woff2", "https://acme-cdn.storage.googleapis.com/fonts/a.woff2"),
        (
            "acme-data",
            "exports/Q1%20users.csv",
            "https://storage.googleapis.com/acme-data/exports/Q1%20users.csv",
        ),
        (
            "reports",
            "tenant-7/invoice.pdf",
            "https://acmeblobs.blob.core.windows.net/reports/tenant-7/invoice.pdf",
        ),
    ]


def test_signed_links_are_kept_unsigned_and_buckets_and_folders_are_not_objects() -> None:
    text = (
        "https://acme.s3.amazonaws.com/exports/a.csv?X-Amz-Signature=abc&amp;X-Amz-Expires=60 "
        "https://acme.s3.amazonaws.com/exports/a.csv#top "
        "See https://acme.s3.amazonaws.com/exports/b.csv. "
        "https://acme.s3.amazonaws.com/ https://acme.s3.amazonaws.com/exports/ "
        "https://acme.s3.amazonaws.com"
    )
    assert [key for _, key, _ in objects(text)] == ["exports/a.csv", "exports/b.csv"]
    targets = storage_targets([("page", text.encode())])
    assert [t.listing_url for t in targets] == [
        "https://acme.s3.amazonaws.com/?list-type=2&max-keys=5"
    ]


def test_named_objects_stop_one_past_the_limit() -> None:
    text = " ".join(f"https://acme.s3.amazonaws.com/f{n}.csv" for n in range(50))
    assert len(objects(text, limit=5)) == 6


# ---------------------------------------------------------------------------------------------
# Through the network seam


def served_bucket() -> dict[str, Any]:
    denied = {"status": 403, "body": "<Error><Code>AccessDenied</Code></Error>"}
    routes: list[dict[str, Any]] = [{"path": "/", "ok": denied}]
    routes += [
        {"path": f"/exports/tenant-{n}.csv", "ok": {"status": 200, "body": "email\na@b.test\n"}}
        for n in range(MAX_OBJECTS + 2)
    ]
    routes.append({"path": "/assets/logo.png", "ok": {"status": 200, "body": "PNG"}})
    return {
        "id": "probe-private-objects",
        "title": "an S3 bucket with exports and a logo",
        "app": {"descriptor": {"key": "k", "name": "n", "baseUrl": "{base}"}},
        "origins": {"data": {"host": "acme-data.s3.amazonaws.com", "routes": routes}},
        "dns": {"records": []},
        "expect": {},
    }


async def gather(page_body: str, base: str, ca_file: str, ns: Any) -> ContentEvidence:
    url = f"{base}/atlassian-connect.json"
    descriptor = parse_descriptor(json.dumps({"key": "k", "name": "n", "baseUrl": base}), url)
    plan = plan_endpoints(descriptor, url)
    page = Exchange("GET", f"{base}/board", status=200, body=page_body.encode())
    async with HttpClient(Limits(), ca_file=ca_file, nameserver=ns, allow_private=True) as client:
        return await gather_content(
            client, descriptor, plan, [page], [], looks_private=looks_private
        )


async def test_only_private_looking_objects_are_requested_and_the_cap_is_noted() -> None:
    with serve_case(served_bucket()) as served:
        bucket = served.origins["data"]
        links = [f'<img src="{bucket}/assets/logo.png">']
        links += [f'<a href="{bucket}/exports/tenant-{n}.csv">' for n in range(MAX_OBJECTS + 2)]
        content = await gather("".join(links), served.base, served.ca_file, served.nameserver)

    keys = [item.object.key for item in content.objects]
    assert keys == [f"exports/tenant-{n}.csv" for n in range(MAX_OBJECTS)]
    assert {item.answer.status for item in content.objects} == {200}
    assert all(item.answer.request_headers == () for item in content.objects)
    assert f"{MAX_OBJECTS + 2} private-looking stored objects are named" in " ".join(content.notes)
    assert [s.listing.status for s in content.storage] == [403]
