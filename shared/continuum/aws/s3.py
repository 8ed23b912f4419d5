"""`continuum backup s3://bucket/prefix` and `continuum restore s3://bucket/key-or-prefix`.

A backup is the SQLite online-backup file, uploaded as `<prefix>/continuum-<UTC time>.db`
(the prefix may be empty). Restore takes an exact key, or the newest backup under a prefix.
boto3 is imported only here; endpoint, region and credentials come from the usual AWS
settings (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_S3, ...).
"""

from __future__ import annotations

import time
from typing import Any


def is_s3_url(text: str) -> bool:
    return text.startswith("s3://")


def parse_s3_url(url: str) -> tuple[str, str]:
    if not is_s3_url(url):
        raise ValueError(f"{url} is not an s3://bucket/prefix URL")
    bucket, _, key = url[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"{url} names no bucket (expected s3://bucket/prefix)")
    return bucket, key


def _client() -> Any:
    import boto3

    return boto3.client("s3")


def _errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


def upload_backup(local_path: str, url: str, *, client: Any = None) -> str:
    """Upload a backup file under the URL's prefix; returns the s3:// URL of the object."""
    bucket, prefix = parse_s3_url(url)
    name = time.strftime("continuum-%Y%m%dT%H%M%SZ.db", time.gmtime())
    key = f"{prefix.rstrip('/')}/{name}" if prefix.strip("/") else name
    try:
        (client or _client()).upload_file(local_path, bucket, key)
    except _errors() as exc:
        raise ValueError(f"cannot upload to s3://{bucket}/{key}: {exc}") from None
    return f"s3://{bucket}/{key}"


def download_backup(url: str, local_path: str, *, client: Any = None) -> str:
    """Download the object at the URL, or the newest `*.db` under it; returns its URL."""
    bucket, key = parse_s3_url(url)
    s3 = client or _client()
    try:
        if not key or key.endswith("/") or not key.endswith(".db"):
            key = _newest(s3, bucket, key)
        s3.download_file(bucket, key, local_path)
    except _errors() as exc:
        raise ValueError(f"cannot download s3://{bucket}/{key}: {exc}") from None
    return f"s3://{bucket}/{key}"


def _newest(s3: Any, bucket: str, prefix: str) -> str:
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    newest: dict[str, Any] | None = None
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if item["Key"].endswith(".db") and (newest is None or item["LastModified"] > newest["LastModified"]):
                newest = item
    if newest is None:
        raise ValueError(f"no backup (*.db) under s3://{bucket}/{prefix}")
    return newest["Key"]
