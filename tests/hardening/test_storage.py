"""Uploads: re-encoded with Pillow (metadata gone, polyglots refused, pixels capped), stored
through one interface on local disk or in a real S3-compatible server (moto, started here),
and removed again when the transaction that wrote them is rolled back."""

import io
import socket
import struct
import zlib

import boto3
import pytest
import sqlalchemy as sa
from hardening_helpers import new_project, row_counts
from helpers import make_user, new_cycle, post_form
from PIL import Image

from portal import images
from portal.budgeting import services
from portal.budgeting.models import ProposalPhoto
from portal.extensions import db as _db
from portal.storage import get_storage
from portal.storage.local import LocalStorage
from portal.storage.s3 import S3Storage

EN = {"Accept-Language": "en"}


def jpeg_with_gps(size=(64, 48)):
    """A JPEG as a phone writes it: EXIF with the camera and a GPS position."""
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (43.0, 15.0, 0.0), 3: "E", 4: (76.0, 57.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"<script>alert(1)</script>")
    return out.getvalue()


def png(size=(40, 30), color=(0, 120, 200)):
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def webp(size=(40, 30)):
    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 10)).save(out, "WEBP")
    return out.getvalue()


def png_claiming(width, height):
    """A tiny PNG whose header claims a huge picture (a decompression bomb's first bytes)."""

    def chunk(kind, body):
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 10))
        + chunk(b"IEND", b"")
    )


# The pure re-encoder ----------------------------------------------------------------------


def test_metadata_is_stripped():
    original = jpeg_with_gps()
    assert b"PhoneMaker" in original and b"<script>" in original
    clean = images.clean_image(original)
    assert b"PhoneMaker" not in clean.data and b"<script>" not in clean.data
    assert b"Exif" not in clean.data
    decoded = Image.open(io.BytesIO(clean.data))
    assert dict(decoded.getexif()) == {} and decoded.size == (64, 48)
    assert clean.content_type == "image/jpeg" and clean.extension == "jpg"


@pytest.mark.parametrize("make", [png, webp, jpeg_with_gps])
def test_every_format_is_re_encoded_with_a_thumbnail(make):
    clean = images.clean_image(make())
    assert Image.open(io.BytesIO(clean.data)).format in ("PNG", "WEBP", "JPEG")
    thumb = Image.open(io.BytesIO(clean.thumbnail))
    assert max(thumb.size) <= images.THUMB_SIDE


def test_big_photos_get_small_thumbnails():
    clean = images.clean_image(png(size=(1200, 900)))
    assert Image.open(io.BytesIO(clean.thumbnail)).size == (320, 240)
    assert len(clean.thumbnail) < len(clean.data)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (png() + b"<html><script>alert(1)</script></html>", "type"),  # HTML after the image
        (jpeg_with_gps() + b"PK\x03\x04" + b"\x00" * 30, "type"),  # a ZIP after the image
        (webp() + b"#!/bin/sh\n", "type"),
        (png()[:-30], "type"),  # truncated
        (b"\xff\xd8\xff\xe0" + b"\x00" * 50 + b"\xff\xd9", "type"),  # a JPEG signature only
        (b"GIF89a" + b"\x00" * 20, "type"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "type"),
        (png_claiming(20_000, 20_000), "pixels"),
        (png_claiming(6000, 4001), "pixels"),
    ],
)
def test_refused_images(data, code):
    with pytest.raises(images.ImageError) as caught:
        images.clean_image(data)
    assert caught.value.code == code


# Service and views on local storage -------------------------------------------------------


def test_photo_service_stores_clean_files(db, tmp_path):
    author = make_user()
    project = new_project(new_cycle("proposals"), 100, status="submitted", author=author)
    photo = services.add_photo(db.session, author, project, jpeg_with_gps(), tmp_path)
    db.session.commit()
    stored = (tmp_path / "budget" / photo.filename).read_bytes()
    assert b"PhoneMaker" not in stored and photo.size == len(stored)
    assert (tmp_path / "budget" / "thumbs" / photo.filename).is_file()


def test_a_refused_later_photo_leaves_no_files_behind(app, db, as_role, tmp_path):
    storage = LocalStorage(tmp_path)
    app.extensions["tynda.storage"], saved = storage, app.extensions.get("tynda.storage")
    try:
        cycle = new_cycle("proposals")
        resident = as_role("resident")
        url = f"/budget/{cycle.id}/proposals/new"
        before = row_counts()
        response = post_form(
            resident,
            url,
            {
                "title": "Benches",
                "description": "<p>Ten benches</p>",
                "category": "greenery",
                "district_id": 0,
                "estimated_cost": "1000",
                "photos": [
                    (io.BytesIO(png()), "one.png"),
                    (io.BytesIO(png(color=(1, 2, 3))), "two.png"),
                    (io.BytesIO(png() + b"<html>"), "three.png"),
                ],
            },
            token_from=url,
            content_type="multipart/form-data",
            headers=EN,
        )
        assert response.status_code == 422
        assert "Photos must be JPEG, PNG or WebP images." in response.get_data(as_text=True)
        assert row_counts() == before
        assert storage.list_keys() == []
    finally:
        app.extensions["tynda.storage"] = saved


def test_photos_are_served_and_thumbnails_listed(app, db, as_role, tmp_path):
    storage = LocalStorage(tmp_path)
    app.extensions["tynda.storage"], saved = storage, app.extensions.get("tynda.storage")
    try:
        cycle = new_cycle("proposals")
        resident = as_role("resident")
        url = f"/budget/{cycle.id}/proposals/new"
        response = post_form(
            resident,
            url,
            {
                "title": "Trees",
                "description": "<p>Plant trees</p>",
                "category": "greenery",
                "district_id": 0,
                "estimated_cost": "1000",
                "photos": [(io.BytesIO(jpeg_with_gps()), "tree.jpg")],
            },
            token_from=url,
            content_type="multipart/form-data",
        )
        assert response.status_code == 302
        photo = db.session.scalar(sa.select(ProposalPhoto))
        listing = resident.get(f"/budget/{cycle.id}/proposals").get_data(as_text=True)
        assert f"/budget/photos/thumbs/{photo.filename}" in listing
        full = resident.get(f"/budget/photos/{photo.filename}")
        assert full.status_code == 200 and full.mimetype == "image/jpeg"
        assert b"PhoneMaker" not in full.data
        thumb = resident.get(f"/budget/photos/thumbs/{photo.filename}")
        assert thumb.status_code == 200 and len(thumb.data) <= len(full.data)
        assert resident.get("/budget/photos/nothing.jpg").status_code == 404
        assert resident.get("/budget/photos/..%2F..%2Fetc%2Fpasswd").status_code == 404
    finally:
        app.extensions["tynda.storage"] = saved


def test_local_storage_refuses_keys_outside_its_root(tmp_path):
    storage = LocalStorage(tmp_path / "root")
    with pytest.raises(ValueError):
        storage.save("../escape", b"x")
    assert not (tmp_path / "escape").exists()


def test_default_storage_is_the_instance_folder(app):
    with app.app_context():
        storage = get_storage()
        assert isinstance(storage, LocalStorage)
        assert str(storage.root).startswith(app.instance_path)


# A real S3-compatible server ---------------------------------------------------------------


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3 in server mode on a free loopback port: real HTTP, real boto3 calls."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_storage(s3_server, request):
    bucket = "tynda-" + request.node.name.lower().replace("_", "-")[:40]
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    client.create_bucket(Bucket=bucket)
    return S3Storage(
        bucket,
        endpoint_url=s3_server,
        access_key="test",
        secret_key="test",
        prefix="uploads",
    )


def test_s3_storage_round_trip(s3_storage):
    s3_storage.save("budget/a.png", b"bytes", "image/png")
    assert s3_storage.read("budget/a.png") == b"bytes"
    assert s3_storage.exists("budget/a.png") and not s3_storage.exists("budget/b.png")
    assert s3_storage.list_keys() == ["budget/a.png"]
    assert s3_storage.read("budget/missing.png") is None
    s3_storage.delete("budget/a.png")
    assert s3_storage.list_keys() == []
    s3_storage.check()


def test_s3_config_builds_the_s3_backend(app, s3_server):
    from portal.storage import make_storage

    storage = make_storage(
        {
            "STORAGE_BACKEND": "s3",
            "S3_BUCKET": "b",
            "S3_ENDPOINT_URL": s3_server,
            "S3_ACCESS_KEY_ID": "test",
            "S3_SECRET_ACCESS_KEY": "test",
        },
        "/nowhere",
    )
    assert isinstance(storage, S3Storage) and storage.bucket == "b"
    with pytest.raises(RuntimeError, match="STORAGE_BACKEND"):
        make_storage({"STORAGE_BACKEND": "ftp"}, "/nowhere")


def test_photos_go_to_the_bucket_and_back(app, db, as_role, s3_storage):
    app.extensions["tynda.storage"], saved = s3_storage, app.extensions.get("tynda.storage")
    try:
        cycle = new_cycle("proposals")
        resident = as_role("resident")
        url = f"/budget/{cycle.id}/proposals/new"
        data = {
            "title": "Lamps",
            "description": "<p>Street lamps</p>",
            "category": "greenery",
            "district_id": 0,
            "estimated_cost": "1000",
        }
        refused = post_form(
            resident,
            url,
            {**data, "photos": [(io.BytesIO(png()), "a.png"), (io.BytesIO(b"junk"), "b.png")]},
            token_from=url,
            content_type="multipart/form-data",
        )
        assert refused.status_code == 422 and s3_storage.list_keys() == []
        response = post_form(
            resident,
            url,
            {**data, "photos": [(io.BytesIO(jpeg_with_gps()), "lamp.jpg")]},
            token_from=url,
            content_type="multipart/form-data",
        )
        assert response.status_code == 302
        photo = db.session.scalar(sa.select(ProposalPhoto))
        assert s3_storage.list_keys() == sorted(
            [f"budget/{photo.filename}", f"budget/thumbs/{photo.filename}"]
        )
        served = resident.get(f"/budget/photos/{photo.filename}")
        assert served.status_code == 200 and served.data == s3_storage.read(
            f"budget/{photo.filename}"
        )
        assert b"PhoneMaker" not in served.data
    finally:
        app.extensions["tynda.storage"] = saved
        _db.session.rollback()
