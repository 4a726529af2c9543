"""Text encoders that turn class names into the category embeddings CPRFL's prompts start from.

Importing this package registers the built-in encoders in ``TEXT_ENCODERS``;
``encode_cached`` is how the rest of ltbench calls them.
"""

from ltbench.text import clip, glove, randn  # noqa: F401  (imported to register)
from ltbench.text.base import TextEncoder
from ltbench.text.cache import encode_cached

__all__ = ["TextEncoder", "encode_cached"]
