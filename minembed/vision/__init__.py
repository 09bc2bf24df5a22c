"""Vision: image embeddings from a tiny CNN and from a Vision Transformer."""

__all__: list[str] = []
