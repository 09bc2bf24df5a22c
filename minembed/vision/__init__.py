"""Vision: image embeddings from a tiny CNN and from a Vision Transformer."""
from .cnn import TinyCNN
from .retrieval import knn_accuracy, knn_predict, nearest_neighbors, plot_neighbors

__all__: list[str] = ["TinyCNN", "nearest_neighbors", "knn_predict", "knn_accuracy", "plot_neighbors"]
