"""Pretrained weights that a library's earlier download left on this machine, found without the network.

open_clip, timm and torchvision fetch weights into the Hugging Face cache or
into a folder named after the download URL. ltbench looks there first, so a
user who already has the weights never needs to pass a path, and it downloads
only when the user allows it (``allow_download``): tests and the embedded
default never touch the network.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from ltbench.errors import LtbenchError


def cached_weights(hf_repo: str | None, filenames: Sequence[str], url: str | None, url_folder: Path,
                   hf_cache_dir: str | None = None) -> Path | None:
    """The first of ``hf_repo``'s ``filenames`` in the Hugging Face cache, else ``url``'s file in ``url_folder``."""
    from huggingface_hub import try_to_load_from_cache

    for filename in filenames if hf_repo else ():
        found = try_to_load_from_cache(hf_repo, filename, cache_dir=hf_cache_dir)
        if isinstance(found, str):
            return Path(found)
    file = url_folder.expanduser() / os.path.basename(url) if url else None
    return file if file is not None and file.is_file() else None


def download_hub_file(hf_repo: str, filename: str, what: str, option: str) -> Path:
    """Download one file of ``hf_repo`` into the Hugging Face cache; a failure is one sentence naming ``option``."""
    import huggingface_hub
    from huggingface_hub.utils import logging as hub_logging

    verbosity = hub_logging.get_verbosity()
    hub_logging.set_verbosity_error()  # its own warnings would add lines to the one-sentence error below
    try:
        return Path(huggingface_hub.hf_hub_download(hf_repo, filename))
    except Exception as exc:  # offline, no such file, HTTP errors: huggingface_hub raises many types
        reason = " ".join(str(exc).split()).split(". ")[0].rstrip(".")
        raise LtbenchError(f"Downloading {what} from the Hugging Face hub ({hf_repo}/{filename}) failed "
                           f"({type(exc).__name__}: {reason}); pass {option}.") from None
    finally:
        hub_logging.set_verbosity(verbosity)
