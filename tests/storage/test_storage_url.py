"""STORAGE_URL parsing (docs/storage.md): the disk by default, S3 options
from the query, bad values refused at start-up rather than at first upload."""

import pytest

from helpdesk.lib.storage_url import S3_BACKEND, StorageUrlError, storage_from_url


def test_empty_is_the_local_disk():
    assert storage_from_url("") == {"BACKEND": "django.core.files.storage.FileSystemStorage"}


def test_s3_url_options():
    got = storage_from_url(
        "s3://files/prod/helpdesk?endpoint_url=https://minio:9000&region_name=eu-west-1&verify=false"
    )
    assert got["BACKEND"] == S3_BACKEND
    opts = got["OPTIONS"]
    assert opts["bucket_name"] == "files" and opts["location"] == "prod/helpdesk"
    assert opts["endpoint_url"] == "https://minio:9000" and opts["region_name"] == "eu-west-1"
    assert opts["verify"] is False and opts["default_acl"] is None and opts["file_overwrite"] is False


@pytest.mark.parametrize(
    "url",
    [
        "file:///tmp/x",
        "s3://",
        "s3://key:secret@bucket",
        "s3://b?acl=public-read",
        "s3://b?use_ssl=maybe",
        "s3://b?querystring_expire=soon",
        "s3://b?querystring_expire=-5",
        "s3://b?endpoint_url=",
    ],
)
def test_bad_urls_are_refused(url):
    with pytest.raises(StorageUrlError):
        storage_from_url(url)
