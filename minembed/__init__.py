"""minembed: embeddings built from scratch in NumPy, with Numba kernels for the hot loops.

    import minembed as me
    emb = me.Embedding(10_000, 64, seed=0)
"""
from . import audio, datasets, kernels, nn, recsys, space, text, vision
from .datasets import load_audio, load_corpus, load_mnist, load_movielens_100k, load_sources
from .nn import (
    GELU,
    SGD,
    Adam,
    AvgPool2d,
    BCEWithLogitsLoss,
    Conv2d,
    CrossEntropyLoss,
    Dropout,
    Embedding,
    EmbeddingBag,
    Flatten,
    GlobalAvgPool2d,
    LayerNorm,
    Linear,
    MaxPool2d,
    Module,
    MultiHeadSelfAttention,
    Parameter,
    ReLU,
    ReLUMaxPool2d,
    Sequential,
    Tanh,
    TransformerBlock,
)
from .space import ExactIndex, FastTextKeyedVectors, HNSWIndex, IVFIndex, KeyedVectors, KMeans, analogy, topk
from .space import maps as viz  # the names these modules had before minembed.space
from .space import search as similarity
from .text import BPETokenizer, FastText, GloVe, TokenizedLines, Vocab, Word2Vec, WordVectors, tokenize
from .vision import PatchEmbed, SimCLR, TinyCLIP, TinyCNN, ViT

__version__ = "0.1.0"  # the one place: pyproject.toml reads it from here; `minembed --version` prints it

__all__ = [
    "nn", "kernels", "datasets", "audio",
    "Module", "Parameter", "Sequential", "Linear", "ReLU", "Tanh", "GELU", "Dropout", "LayerNorm",
    "Embedding", "EmbeddingBag", "Conv2d", "MaxPool2d", "ReLUMaxPool2d", "AvgPool2d", "GlobalAvgPool2d", "Flatten",
    "CrossEntropyLoss", "BCEWithLogitsLoss", "SGD", "Adam",
    "load_corpus", "load_sources", "load_mnist", "load_audio", "load_movielens_100k", "recsys",
    "vision", "MultiHeadSelfAttention", "TransformerBlock", "PatchEmbed", "ViT", "TinyCNN", "SimCLR", "TinyCLIP",
    "space", "similarity", "viz", "ExactIndex", "HNSWIndex", "IVFIndex", "topk", "analogy", "KeyedVectors", "KMeans",
    "text", "BPETokenizer", "Vocab", "tokenize", "TokenizedLines", "Word2Vec", "WordVectors", "GloVe", "FastText",
    "FastTextKeyedVectors",
]
