"""Text encoders: real GloVe vectors, seeded random embeddings, the open_clip load path, the disk cache."""

from __future__ import annotations

import copy
import json
import os

import numpy as np
import pytest
import torch

from ltbench.errors import LtbenchError
from ltbench.registry import TEXT_ENCODERS
from ltbench.text import encode_cached
from ltbench.text.cache import cache_dir, cache_key
from ltbench.pretrained.clip import open_clip_module as _open_clip
from ltbench.text.clip import OpenClipTextEncoder

TEMPLATE = "a photo of a {}."
TINY = "ltbench-tiny-clip"  # a small open_clip config, so that tests build the real model class quickly
TINY_CONFIG = {
    "embed_dim": 16,
    "quick_gelu": True,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 64, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module")
def glove():
    return TEXT_ENCODERS.build("glove")


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    """A randomly initialised tiny open_clip model and its state dict saved to a file."""
    open_clip = _open_clip()
    folder = tmp_path_factory.mktemp("tiny_clip")
    (folder / f"{TINY}.json").write_text(json.dumps(TINY_CONFIG))
    open_clip.add_model_config(folder / f"{TINY}.json")
    torch.manual_seed(0)
    model = open_clip.create_model(TINY, pretrained=None, force_quick_gelu=True).eval()
    torch.save(model.state_dict(), folder / "tiny.pt")
    return model, folder / "tiny.pt"


def _reference_embeddings(model, names: list[str]) -> torch.Tensor:
    tokens = _open_clip().get_tokenizer(TINY)([TEMPLATE.format(n) for n in names])
    with torch.no_grad():
        return model.encode_text(tokens)


def test_glove_vectors_carry_meaning(glove):
    emb = glove.encode(["cat", "dog", "car"], TEMPLATE)
    assert emb.shape == (3, 50) and emb.dtype == torch.float32
    cos = torch.nn.functional.cosine_similarity
    assert cos(emb[0], emb[1], dim=0) > cos(emb[0], emb[2], dim=0) + 0.2


def test_glove_multiword_names_average_their_known_words(glove):
    emb = glove.encode(["potted plant", "TV_monitor", "plant qqzxqvw"], TEMPLATE)
    mean = lambda *words: torch.from_numpy((sum(glove.word_vector(w) for w in words) / len(words)))  # noqa: E731
    torch.testing.assert_close(emb[0], mean("potted", "plant"))
    torch.testing.assert_close(emb[1], mean("tv", "monitor"))
    torch.testing.assert_close(emb[2], mean("plant"))  # the unknown word is skipped
    torch.testing.assert_close(glove.encode(["potted plant"], "{}"), emb[:1])  # template ignored


def test_glove_name_without_known_word_is_an_error(glove):
    with pytest.raises(LtbenchError, match="qqzxqvw"):
        glove.encode(["cat", "qqzxqvw"], TEMPLATE)


def _glove_text_file(path, words, dim=300):
    """A tiny file in Stanford's GloVe text format; word k's vector is k + 0.5 * arange(dim) / dim."""
    rows = {word: k + 0.5 * np.arange(dim) / dim for k, word in enumerate(words)}
    path.write_text("".join(f"{w} " + " ".join(f"{x:.6f}" for x in v) + "\n" for w, v in rows.items()))
    return {w: torch.tensor(v, dtype=torch.float32) for w, v in rows.items()}


def test_glove_reads_a_300d_text_file_the_user_supplies(tmp_path, monkeypatch):
    monkeypatch.setenv("LTBENCH_CACHE", str(tmp_path / "cache"))
    vectors = _glove_text_file(tmp_path / "glove.6B.300d.txt", ["the", "dining", "table", "cat", "dog"])
    encoder = TEXT_ENCODERS.build("glove", weights=str(tmp_path / "glove.6B.300d.txt"))
    assert encoder.dim == 300 and encoder.source == str((tmp_path / "glove.6B.300d.txt").resolve())
    emb = encode_cached(encoder, ["dining table", "cat"], TEMPLATE)
    assert emb.shape == (2, 300)
    torch.testing.assert_close(emb[0], (vectors["dining"] + vectors["table"]) / 2)
    torch.testing.assert_close(emb[1], vectors["cat"])
    torch.testing.assert_close(encode_cached(encoder, ["dining table", "cat"], TEMPLATE), emb)  # from the cache


def test_missing_or_broken_glove_file_is_one_sentence(tmp_path):
    with pytest.raises(LtbenchError) as error:
        TEXT_ENCODERS.build("glove", weights=str(tmp_path / "glove.6B.300d.txt"))
    message = str(error.value)
    assert "glove.6B.300d.txt" in message and "text.weights=" in message and "\n" not in message
    (tmp_path / "short.txt").write_text("cat 1 2 3\ndog 1 2\n")
    with pytest.raises(LtbenchError, match=r"Line 2 of the GloVe file .* does not hold 3 numbers"):
        TEXT_ENCODERS.build("glove", weights=str(tmp_path / "short.txt")).encode(["dog"], TEMPLATE)
    (tmp_path / "RN50.pt").write_bytes(bytes(range(256)))  # a CLIP checkpoint passed by mistake
    with pytest.raises(LtbenchError, match="does not start with a 'word x1 ... xD' line"):
        TEXT_ENCODERS.build("glove", weights=str(tmp_path / "RN50.pt")).encode(["dog"], TEMPLATE)


def test_random_encoder_is_seeded():
    a = TEXT_ENCODERS.build("random", seed=3, dim=8).encode(["x", "y"], TEMPLATE)
    b = TEXT_ENCODERS.build("random", seed=3, dim=8).encode(["p", "q"], TEMPLATE)
    c = TEXT_ENCODERS.build("random", seed=4, dim=8).encode(["x", "y"], TEMPLATE)
    assert a.shape == (2, 8)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)
    with pytest.raises(LtbenchError):
        TEXT_ENCODERS.build("random", weights="some.pt")


def test_clip_loads_weights_from_file_and_encodes_raw_features(tiny_clip):
    model, weights = tiny_clip
    names = ["cat", "potted plant", "tv monitor"]
    encoder = OpenClipTextEncoder("clip-tiny", TINY, weights=str(weights))
    emb = encoder.encode(names, TEMPLATE)
    assert emb.shape == (3, encoder.dim) == (3, 16) and emb.dtype == torch.float32
    assert encoder.source == str(weights.resolve())
    torch.testing.assert_close(emb, _reference_embeddings(model, names))  # the file's weights, not a fresh init
    assert not torch.allclose(emb[0], emb[1])
    assert not torch.allclose(emb.norm(dim=1), torch.ones(3))  # raw, not L2-normalised


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore::DeprecationWarning")
def test_clip_loads_openai_torchscript_archive(tiny_clip, tmp_path):
    model, _ = tiny_clip
    scriptable = copy.deepcopy(model)
    scriptable.attn_mask = None  # OpenAI's archives hold no mask tensor; open_clip builds its own
    example = (torch.zeros(1, 3, 32, 32), torch.zeros(1, 77, dtype=torch.long))
    torch.jit.trace(scriptable, example, strict=False, check_trace=False).save(tmp_path / "RN-tiny.pt")
    emb = OpenClipTextEncoder("clip-tiny", TINY, weights=str(tmp_path / "RN-tiny.pt")).encode(["cat"], TEMPLATE)
    torch.testing.assert_close(emb, _reference_embeddings(model, ["cat"]))


def test_clip_weights_of_another_model_are_an_error(tiny_clip, tmp_path):
    model, _ = tiny_clip
    torch.save({k: v for k, v in model.state_dict().items() if not k.startswith("visual.")}, tmp_path / "bad.pt")
    with pytest.raises(LtbenchError, match="does not fit"):
        OpenClipTextEncoder("clip-tiny", TINY, weights=str(tmp_path / "bad.pt")).encode(["cat"], TEMPLATE)


@pytest.mark.parametrize("name", ["clip-rn50", "clip-vit-b16"])
def test_missing_clip_weights_name_the_option(name, tmp_path):
    encoder = TEXT_ENCODERS.build(name, cache_dir=str(tmp_path))  # an empty cache: nothing to find
    with pytest.raises(LtbenchError) as error:
        encoder.encode(["cat"], TEMPLATE)
    message = str(error.value)
    assert "text.weights=" in message and "allow_download" in message and name in message
    assert "\n" not in message and ". " not in message.rstrip(".")  # one sentence
    with pytest.raises(LtbenchError, match=rf"The {name} weights file .*nope\.pt does not exist; pass text\.weights="):
        _ = TEXT_ENCODERS.build(name, weights=str(tmp_path / "nope.pt")).source


def test_cache_hit_does_not_build_the_encoder(tiny_clip, tmp_path, monkeypatch):
    _, weights = tiny_clip
    monkeypatch.setenv("LTBENCH_CACHE", str(tmp_path))
    names = ["cat", "dog"]
    first = encode_cached(OpenClipTextEncoder("clip-tiny", TINY, weights=str(weights)), names, TEMPLATE)
    files = sorted(p.name for p in cache_dir().iterdir())
    assert len(files) == 2 and files[0].endswith(".json") and files[1].endswith(".npy")
    sidecar = json.loads((cache_dir() / files[0]).read_text())
    assert sidecar["encoder"] == "clip-tiny" and sidecar["template"] == TEMPLATE

    def no_build(*args, **kwargs):
        raise AssertionError("the encoder was built on a cache hit")

    monkeypatch.setattr(_open_clip(), "create_model", no_build)
    again = OpenClipTextEncoder("clip-tiny", TINY, weights=str(weights))
    torch.testing.assert_close(encode_cached(again, names, TEMPLATE), first)
    key = cache_key(again, names, TEMPLATE)
    assert cache_key(again, names, "an image of a {}.") != key
    assert cache_key(again, ["cat", "car"], TEMPLATE) != key
    os.utime(weights, ns=(0, 0))  # new weights at the same path must not reuse the old embeddings
    assert cache_key(again, names, TEMPLATE) != key


def test_trainable_tower_starts_at_the_frozen_embeddings_and_trains_with_the_head(tiny_clip):
    """text.trainable: the head owns the tower, re-runs it on every forward, and the loss reaches its weights."""
    from ltbench.models.cprfl import CPRFLHead

    _, weights = tiny_clip
    encoder = OpenClipTextEncoder("clip-tiny", TINY, weights=str(weights))
    names = ["cat", "dog", "potted plant"]
    tower = encoder.trainable_tower(names, TEMPLATE)
    assert (tower.num_classes, tower.dim) == (3, 16)
    torch.testing.assert_close(tower().detach(), encoder.encode(names, TEMPLATE))
    head = CPRFLHead(8, tower, 3, dim=16, heads=2, dim_head=8, ffn_dim=16)
    tower_params = {n for n, _ in head.named_parameters() if n.startswith("text_tower.")}
    assert tower_params and "text_tower.model.token_embedding.weight" in head.state_dict()
    optimizer = torch.optim.SGD(head.parameters(), lr=0.5)
    before = tower().detach().clone()
    head(torch.randn(2, 8, 2, 2)).square().mean().backward()
    assert head.text_tower.model.text_projection.grad.abs().sum() > 0
    optimizer.step()
    assert not torch.allclose(tower().detach(), before)  # the prompts' embeddings moved: re-encoded, not cached
    torch.testing.assert_close(encoder.encode(names, TEMPLATE), before)  # the frozen path is untouched
