"""TinyBERT against an identical PyTorch model: outputs and every gradient (optional: needs torch)."""
import sys
from pathlib import Path

import numpy as np
import pytest

from minembed.text.bert import TinyBERT

torch = pytest.importorskip("torch", reason="PyTorch is not installed (optional cross-check)")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import torch_tiny_bert  # noqa: E402


@pytest.mark.parametrize("n_segments", [0, 2])
def test_tiny_bert_matches_torch(rng, n_segments):
    m = TinyBERT(50, 0, max_len=10, dim=16, depth=2, num_heads=4, mlp_hidden=24, n_segments=n_segments,
                 seed=3).astype(np.float64)
    m.mlm_bias.data = rng.standard_normal(50)
    net = torch_tiny_bert.load_numpy_state(torch_tiny_bert.build(m.config, torch.float64), m.state_dict())
    ids = rng.integers(1, 50, (4, 10))
    ids[1, 6:] = 0
    ids[3, 3:] = 0
    masked = np.array([[0, 0], [0, 5], [1, 2], [2, 9], [3, 1], [3, 2]])
    types = (np.arange(10) >= 4).astype(np.int64)[None].repeat(4, 0) if n_segments else None
    logits = m.forward(ids, masked, types)
    t_logits = net(torch.from_numpy(ids), torch.from_numpy(masked), None if types is None else torch.from_numpy(types))
    np.testing.assert_allclose(logits, t_logits.detach().numpy(), rtol=1e-10, atol=1e-12)
    dy = rng.standard_normal(logits.shape)
    m.zero_grad()
    m.backward(dy)
    (t_logits * torch.from_numpy(dy)).sum().backward()
    theirs = dict(net.named_parameters())
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad, theirs[name].grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
    # and the token vectors without the head
    h = m.forward(ids)
    np.testing.assert_allclose(h, net(torch.from_numpy(ids)).detach().numpy(), rtol=1e-10, atol=1e-12)
