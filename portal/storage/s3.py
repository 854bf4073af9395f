"""Files in an S3-compatible bucket (AWS S3, MinIO, Ceph …) through boto3: the scale path,
where several app hosts must see the same uploads."""

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError


class S3Storage:
    name = "s3"

    def __init__(
        self,
        bucket,
        *,
        endpoint_url=None,
        region="us-east-1",
        access_key=None,
        secret_key=None,
        prefix="",
    ):
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=BotoConfig(
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
                s3={"addressing_style": "path"},  # works with MinIO and other self-hosted stores
            ),
        )

    def _key(self, key):
        if "\x00" in key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"bad storage key {key!r}")
        return self.prefix + key

    def save(self, key, data, content_type=None):
        extra = {"ContentType": content_type} if content_type else {}
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, **extra)

    def read(self, key):
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise
        return answer["Body"].read()

    def exists(self, key):
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        return True

    def delete(self, key):
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def list_keys(self, prefix=""):
        found = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            found.extend(item["Key"][len(self.prefix) :] for item in page.get("Contents", []))
        return sorted(found)

    def check(self):
        self.client.head_bucket(Bucket=self.bucket)
