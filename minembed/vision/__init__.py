"""Vision: image embeddings from a tiny CNN and from a Vision Transformer."""
from ..space.evaluate import knn_accuracy, knn_predict  # re-exported: the lessons find them here
from ..space.search import nearest_neighbors
from .cnn import TinyCNN
from .patch_embed import PatchEmbed
from .retrieval import plot_neighbors
from .vit import ViT

__all__ = ["TinyCNN", "nearest_neighbors", "knn_predict", "knn_accuracy", "plot_neighbors", "PatchEmbed", "ViT"]
