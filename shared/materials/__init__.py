"""Materials are files: received once at the window, stored once by their SHA-256, read by those who may."""

from shared.materials.store import FilesystemStore, MaterialStore, S3Store, StoredFile, open_file, open_store
from shared.materials.upload import UploadRefused, UploadRules, receive

__all__ = [
    "FilesystemStore",
    "MaterialStore",
    "S3Store",
    "StoredFile",
    "UploadRefused",
    "UploadRules",
    "open_file",
    "open_store",
    "receive",
]
