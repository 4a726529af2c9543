"""The captions file LMPT reads: its format, and one sentence for every way it can be wrong."""

from __future__ import annotations

import pytest

from ltbench.data.captions import read_captions
from ltbench.errors import LtbenchError


def test_captions_follow_the_ids_order(tmp_path):
    file = tmp_path / "caps.tsv"
    file.write_text("# a comment\nimg_2\ta dog on a sofa\n\nimg_1\t a cat \nother\tignored\n", encoding="utf-8")
    assert read_captions(str(file), ["img_1", "img_2"], "method.captions") == ["a cat", "a dog on a sofa"]


@pytest.mark.parametrize("content, match", [
    (None, "none were given; pass method.captions=/path/to/captions.tsv"),
    ("img_1\ta cat\n", r"no caption for 1 of the 2 training images \(first: 'img_2'\)"),
    ("img_1 a cat\n", "Line 1 of the captions file .* has no tab"),
])
def test_bad_captions_are_one_sentence_naming_the_option(tmp_path, content, match):
    path = None
    if content is not None:
        path = tmp_path / "caps.tsv"
        path.write_text(content)
    with pytest.raises(LtbenchError, match=match) as error:
        read_captions(None if path is None else str(path), ["img_1", "img_2"], "method.captions")
    assert "method.captions" in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(LtbenchError, match="does not exist; pass method.captions="):
        read_captions(str(tmp_path / "nope.tsv"), ["img_1"], "method.captions")
