"""Backpropagation, layer by layer: parameters, modules, layers, losses, optimizers."""
from .activations import GELU, Dropout, ReLU, Tanh
from .attention import MLP, MultiHeadSelfAttention, TransformerBlock
from .conv import Conv2d
from .embedding import Embedding, EmbeddingBag
from .gradcheck import check_gradients, check_loss_gradient, numerical_gradient
from .linear import Linear
from .losses import BCEWithLogitsLoss, ClipLoss, CrossEntropyLoss, NTXentLoss
from .module import Module, Parameter, RowSparseGrad, Sequential
from .norm import LayerNorm
from .optim import SGD, Adam, Optimizer
from .pool import AvgPool2d, Flatten, GlobalAvgPool2d, MaxPool2d, ReLUMaxPool2d
from .schedule import CosineSchedule

__all__ = [
    "Module", "Parameter", "RowSparseGrad", "Sequential",
    "Linear", "ReLU", "Tanh", "GELU", "Dropout", "LayerNorm",
    "Embedding", "EmbeddingBag",
    "Conv2d", "MaxPool2d", "ReLUMaxPool2d", "AvgPool2d", "GlobalAvgPool2d", "Flatten",
    "CrossEntropyLoss", "BCEWithLogitsLoss", "NTXentLoss", "ClipLoss",
    "Optimizer", "SGD", "Adam", "CosineSchedule",
    "check_gradients", "check_loss_gradient", "numerical_gradient",
    "MultiHeadSelfAttention", "MLP", "TransformerBlock",
]
