"""Vision: image embeddings from a tiny CNN and a Vision Transformer, with labels or without (SimCLR); images
and captions in one space (TinyCLIP)."""
from ..space.evaluate import knn_accuracy, knn_predict  # re-exported: the lessons find them here
from ..space.search import nearest_neighbors
from .augment import Augment
from .captions import CaptionVocab, class_captions, digit_captions
from .clip import TinyCLIP, recall_at_k
from .cnn import TinyCNN
from .patch_embed import PatchEmbed
from .retrieval import plot_neighbors
from .simclr import (
    LinearProbe,
    SimCLR,
    choose_weight_decay,
    label_budgets,
    labelled_subset,
    linear_evaluation,
)
from .vit import ViT

__all__ = ["TinyCNN", "nearest_neighbors", "knn_predict", "knn_accuracy", "plot_neighbors", "PatchEmbed", "ViT",
           "Augment", "SimCLR", "LinearProbe", "linear_evaluation", "label_budgets", "labelled_subset",
           "choose_weight_decay",
           "TinyCLIP", "CaptionVocab", "digit_captions", "class_captions", "recall_at_k"]
