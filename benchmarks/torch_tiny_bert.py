"""The PyTorch twin of minembed's TinyBERT (same layers, same parameter names), for the cross-check in
tests/test_text_bert_torch.py and the speed comparison in benchmarks/bench_bert.py.

``build(config)`` returns a ``torch.nn.Module`` whose ``state_dict`` keys equal minembed's
``TinyBERT.state_dict()`` keys, so ``net.load_state_dict({k: torch.from_numpy(v) ...})`` copies the
weights across. ``forward(ids, masked=None, token_type_ids=None)`` mirrors TinyBERT.forward.
"""
from __future__ import annotations


def build(config, dtype=None):
    import torch
    import torch.nn as tnn
    import torch.nn.functional as F

    dim, heads, eps = config["dim"], config["num_heads"], config["eps"]

    class Attn(tnn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = tnn.Linear(dim, 3 * dim)
            self.proj = tnn.Linear(dim, dim)

        def forward(self, x, pad):
            b, t, _ = x.shape
            q, k, v = self.qkv(x).reshape(b, t, 3, heads, dim // heads).permute(2, 0, 3, 1, 4)
            s = q @ k.transpose(-1, -2) / (dim // heads) ** 0.5
            if pad is not None:
                s = s.masked_fill(pad[:, None, None, :], float("-inf"))
            o = torch.softmax(s, dim=-1) @ v
            return self.proj(o.transpose(1, 2).reshape(b, t, dim))

    class Mlp(tnn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = tnn.Linear(dim, config["mlp_hidden"])
            self.fc2 = tnn.Linear(config["mlp_hidden"], dim)

        def forward(self, x):
            return self.fc2(F.gelu(self.fc1(x)))

    class Block(tnn.Module):
        def __init__(self):
            super().__init__()
            self.norm1 = tnn.LayerNorm(dim, eps=eps)
            self.attn = Attn()
            self.norm2 = tnn.LayerNorm(dim, eps=eps)
            self.mlp = Mlp()

        def forward(self, x, pad):
            x = x + self.attn(self.norm1(x), pad)
            return x + self.mlp(self.norm2(x))

    class Emb(tnn.Module):
        def __init__(self, n):
            super().__init__()
            self.weight = tnn.Parameter(torch.zeros(n, dim))

    class TorchTinyBERT(tnn.Module):
        def __init__(self):
            super().__init__()
            self.tok_embed = Emb(config["vocab_size"])
            self.pos_embed = tnn.Parameter(torch.zeros(config["max_len"], dim))
            if config["n_segments"]:
                self.seg_embed = Emb(config["n_segments"])
            self.blocks = tnn.ModuleList([Block() for _ in range(config["depth"])])
            self.norm = tnn.LayerNorm(dim, eps=eps)
            self.mlm_bias = tnn.Parameter(torch.zeros(config["vocab_size"]))

        def forward(self, ids, masked=None, token_type_ids=None):
            b, t = ids.shape
            x = self.tok_embed.weight[ids] + self.pos_embed[:t]
            if config["n_segments"]:
                types = torch.zeros_like(ids) if token_type_ids is None else token_type_ids
                x = x + self.seg_embed.weight[types]
            pad = ids == config["pad_id"]
            pad = pad if bool(pad.any()) else None
            for block in self.blocks:
                x = block(x, pad)
            h = self.norm(x)
            if masked is None:
                return h
            return h[masked[:, 0], masked[:, 1]] @ self.tok_embed.weight.T + self.mlm_bias

    net = TorchTinyBERT()
    if dtype is not None:
        net = net.to(dtype)
    return net


def load_numpy_state(net, state):
    """Copy minembed's ``state_dict()`` (numpy arrays) into the twin; the keys must match exactly."""
    import torch

    own = net.state_dict()
    if set(own) != set(state):
        raise KeyError(f"parameter names differ: {sorted(set(own) ^ set(state))}")
    net.load_state_dict({k: torch.from_numpy(state[k].copy()).to(own[k].dtype) for k in own})
    return net
