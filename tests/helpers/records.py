"""Records as the store gives them back (``store.load_record``)."""

from okrsync.model import none_names


def as_read(kind: str, fields: dict) -> dict:
    """``fields`` of a ``kind`` as the store reads them: the model's fields they lack are None."""
    return {**dict.fromkeys(none_names(kind)), **fields}
