"""Vision: image embeddings from a tiny CNN and from a Vision Transformer."""

from .patch_embed import PatchEmbed  # vit
from .vit import ViT  # vit

__all__: list[str] = []
__all__ += ["PatchEmbed", "ViT"]  # vit
