"""CAPNet (Tang, Wang, Zhang, Wei, Zhang; arXiv 2511.20641), RECONSTRUCTED FROM THE ABSTRACT.

No code and no full text are public. The abstract gives: CLIP (RN50 or
ViT-B/16), class-specific soft prompts, a 3-layer GCN over a label graph
built from CLIP text embeddings producing residuals on the class text
features, a cosine score with a trainable temperature and a sigmoid, a
distribution-balanced focal loss with class-aware re-weighting, test-time
ensembling and parameter-efficient fine-tuning of the image encoder.
Everything else is ltbench's assumption (``ltbench.models.capnet.ASSUMPTIONS``):

- label graph: cosine similarities of CLIP's "a photo of a [CLASS]." text,
  each class keeping its ``graph_k`` (5) nearest classes, symmetrised, with
  self-loops, D^-1/2 A D^-1/2;
- GCN: 3 layers of width E, ReLU between, the last zero-initialised;
- soft prompts: 16 class-specific tokens, N(0, 0.02) (CoOp);
- temperature: trainable, initialised to CLIP's;
- PEFT: AdaptFormer adapters (bottleneck 64, scale 0.1) on every ViT block,
  as in co-author Shi's LIFT code; RN50 gets none and stays frozen;
- test-time ensembling: LIFT's five crops of the image resized to size / 0.875;
- loss: DB-Focal; recipe (configs/capnet_recipe.yaml): SGD lr 0.01,
  momentum 0.9, wd 5e-4, cosine, 20 epochs, batch 32, flip.

No published numbers exist; tables label it "CAPNet (reconstructed from the abstract)".
"""

from __future__ import annotations

from ltbench.methods.base import MethodContext, MethodParts, SplitModel, Stage
from ltbench.methods.clip_common import clip_backbone, clip_class_names
from ltbench.models.capnet import ASSUMPTIONS, CAPNetHead, FiveCrop, GraphResidual, add_adapters, label_graph
from ltbench.models.clip_image import clip_image_transform
from ltbench.models.hp_dval import HANDCRAFTED
from ltbench.models.prompts import PromptContext, PromptedText
from ltbench.registry import METHODS

CROP_RATIO = 0.875  # LIFT's five crops are cut from the image resized to size / 0.875


@METHODS.register("capnet", loss="db_focal", uses=("model", "loss"))
def capnet(ctx: MethodContext, n_ctx: int = 16, graph_k: int = 5, adapter_dim: int = 64,
           five_crop: bool = True, names: str = "readable") -> MethodParts:
    """CAPNet, RECONSTRUCTED from the abstract; assumed: 5-NN CLIP-text label graph, 3-layer GCN of width E with a zero-initialised last layer, 16 class-specific prompt tokens, trainable temperature from CLIP's, AdaptFormer-64 adapters (ViT only), five crops at size/0.875, DB-Focal, SGD 0.01 cosine 20 epochs."""
    ctx.provenance["capnet"] = "reconstructed from the abstract; assumed: " + "; ".join(ASSUMPTIONS)
    backbone = clip_backbone(ctx, "capnet")
    add_adapters(backbone, adapter_dim)
    tower, names = backbone.text_tower, clip_class_names(ctx, names)
    graph = GraphResidual(label_graph(tower.encode([HANDCRAFTED.format(n) for n in names]), graph_k),
                          backbone.out_channels)
    head = CAPNetHead(PromptedText(tower, PromptContext(tower, names, n_ctx, class_specific=True)), graph)
    size = backbone.image_size
    test_size = round(size / CROP_RATIO) if five_crop else size
    return MethodParts(model=SplitModel(FiveCrop(backbone), head), loss=ctx.loss(),
                       stages=[Stage()], train_transform=clip_image_transform(size, flip=True),
                       test_transform=clip_image_transform(test_size))
