"""`STORAGE_URL` -> the "default" entry of Django's STORAGES setting.

Empty: the local disk (MEDIA_ROOT), the embedded default. `s3://bucket...`:
django-storages' S3 backend with private objects. docs/storage.md lists
every query parameter; credentials come from boto3's own chain
(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, an instance role...), never
from the URL, so they do not end up in logs that print settings.
"""

from typing import Any
from urllib.parse import parse_qsl, urlsplit

FILESYSTEM = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
S3_BACKEND = "storages.backends.s3.S3Storage"
# Query parameters passed through to S3Storage as they are (strings).
_STRING_OPTIONS = {"endpoint_url", "region_name", "location", "signature_version", "addressing_style"}
_BOOL_OPTIONS = {"use_ssl", "verify"}


class StorageUrlError(ValueError):
    pass


def _bool(name: str, value: str) -> bool:
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise StorageUrlError(f"STORAGE_URL: {name} must be true or false, not {value!r}.")


def storage_from_url(url: str) -> dict[str, Any]:
    """The STORAGES["default"] dict for `url` (see module docstring)."""
    url = (url or "").strip()
    if not url:
        return dict(FILESYSTEM)
    parts = urlsplit(url)
    if parts.scheme != "s3":
        raise StorageUrlError(f"STORAGE_URL must start with s3:// (or be empty for the local disk), not {url!r}.")
    if not parts.netloc or parts.username or parts.password:
        raise StorageUrlError("STORAGE_URL is s3://BUCKET?...; credentials go in AWS_ACCESS_KEY_ID/SECRET, not here.")
    options: dict[str, Any] = {
        "bucket_name": parts.netloc,
        # Private objects: no ACL header (the bucket's private default),
        # never a public URL; downloads stream through the access check.
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": 60,
        "file_overwrite": False,
    }
    path_prefix = parts.path.strip("/")
    if path_prefix:
        options["location"] = path_prefix
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in _STRING_OPTIONS:
            if not value.strip():  # an empty endpoint would silently mean AWS
                raise StorageUrlError(f"STORAGE_URL: {key} is empty.")
            options[key] = value
        elif key in _BOOL_OPTIONS:
            options[key] = _bool(key, value)
        elif key == "querystring_expire":
            if not value.isdigit() or int(value) < 1:
                raise StorageUrlError(f"STORAGE_URL: querystring_expire must be a number of seconds, not {value!r}.")
            options[key] = int(value)
        else:
            raise StorageUrlError(f"STORAGE_URL: unknown parameter {key!r} (docs/storage.md lists them).")
    return {"BACKEND": S3_BACKEND, "OPTIONS": options}
