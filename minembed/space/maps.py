"""Pictures of an embedding space: PCA, t-SNE, labelled scatter plots, Embedding Projector export.

* :func:`pca` — the directions of largest variance, from the SVD of the centred data.
* :func:`tsne` — t-SNE (van der Maaten & Hinton 2008) written out: Gaussian affinities with
  a per-point bandwidth found by binary search on the perplexity, Student-t similarities in
  2-D, exact gradient (a Numba kernel, :mod:`minembed.kernels.tsne`), early exaggeration,
  momentum and per-coordinate gains. Exact means O(N^2) per iteration: fine for a few
  thousand points (2,000 points take seconds), not for a whole vocabulary.
* :func:`plot_embeddings` — a scatter plot with readable word labels (matplotlib); :func:`spaced_labels`
  picks labels that do not overlap.
* :func:`export_projector` — ``vectors.tsv`` + ``metadata.tsv`` for the TensorBoard Embedding
  Projector (https://projector.tensorflow.org: "Load" and pick the two files).
"""
from __future__ import annotations

import numpy as np

from ..kernels.tsne import calibrate_affinities, kl_divergence, tsne_gradient
from ..rng import make_rng
from .search import as_vectors


# ------------------------------------------------------------------------------------ PCA
def pca(x, n_components: int = 2, return_info: bool = False):
    """Project rows of ``x`` (N, D) on their first principal axes: (N, n_components) float64.

    Centre the data, take the thin SVD ``Xc = U S V^T``; the rows of ``V^T`` are the
    eigenvectors of the covariance ``Xc^T Xc / (N - 1)`` with eigenvalues ``S^2 / (N - 1)``,
    and the coordinates are ``Xc V = U S``. Signs are fixed so that each axis's largest
    loading is positive (an SVD may flip any axis).

    With ``return_info=True`` also returns ``(components (k, D), explained_variance (k,), mean (D,))``.
    """
    x = as_vectors(x, "x")
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D (N, D), got shape {x.shape}")
    n, d = x.shape
    if not isinstance(n_components, (int, np.integer)) or not 1 <= n_components <= min(n, d):
        raise ValueError(f"n_components must be an integer in [1, min(N, D)] = [1, {min(n, d)}], got {n_components}")
    x64 = x.astype(np.float64)
    mean = x64.mean(0)
    xc = x64 - mean
    _, s, vt = np.linalg.svd(xc, full_matrices=False)
    vt = vt[:n_components]
    signs = np.sign(vt[np.arange(n_components), np.abs(vt).argmax(1)])
    vt = vt * signs[:, None]
    coords = xc @ vt.T
    if not return_info:
        return coords
    return coords, vt, s[:n_components] ** 2 / max(n - 1, 1), mean


# ---------------------------------------------------------------------------------- t-SNE
def joint_affinities(x, perplexity: float) -> np.ndarray:
    """Symmetric t-SNE input affinities ``p_ij = (p_{j|i} + p_{i|j}) / (2N)`` (N, N) float64."""
    x64 = np.asarray(x, dtype=np.float64)
    sq = (x64 * x64).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * x64 @ x64.T, 0.0)
    cond = calibrate_affinities(d2, perplexity)
    p = (cond + cond.T) / (2.0 * x64.shape[0])
    return np.maximum(p, 1e-12 * (1 - np.eye(x64.shape[0])))


def tsne(x, n_components: int = 2, perplexity: float | None = None, n_iter: int = 1000,
         learning_rate: float | str = "auto", early_exaggeration: float = 12.0, exaggeration_iter: int = 250,
         init: str = "pca", seed: int | None = 0, rng: np.random.Generator | None = None,
         verbose: bool = False, history: list | None = None) -> np.ndarray:
    """t-SNE map of the rows of ``x`` (N, D) -> (N, n_components) float64.

    Args:
        perplexity: effective number of neighbours each point's Gaussian covers (5-50 is typical).
            None picks ``min(30, (N - 1) / 3)``. Must be below N.
        n_iter: gradient steps. The first ``exaggeration_iter`` multiply P by
            ``early_exaggeration`` (clusters form tight and move freely) with momentum 0.5;
            later steps use P itself and momentum 0.8.
        learning_rate: step size eta, or ``"auto"``: ``max(N / early_exaggeration / 4, 50)``, scikit-learn's
            default (after Belkina et al. 2019). A fixed 200 is far too large for a few hundred points: the
            exaggerated phase never settles and small maps end in poor local minima.
        init: ``"pca"`` (first PCA axes scaled to std 1e-4: stable from run to run) or ``"random"``
            (N(0, 1e-4) as in the 2008 paper).
        seed / rng: randomness for the random init.
        history: if a list is given, ``(iteration, KL)`` pairs are appended every 50 steps.

    The update is gradient descent with momentum and per-coordinate adaptive gains (Jacobs
    1988, as in van der Maaten's reference code): a coordinate whose gradient sign keeps
    agreeing with its last step grows its gain by 0.2, one that flips shrinks it by x0.8
    (floor 0.01)::

        gains  = where(sign(grad) != sign(update), gains + 0.2, gains * 0.8)
        update = momentum * update - learning_rate * gains * grad
        y     += update;  y -= y.mean(0)

    When the exaggeration ends, ``update`` and ``gains`` restart from rest (0 and 1), as in
    scikit-learn. Carried over, the exaggerated phase's last velocity (several map units a step
    while it oscillates) is amplified by momentum 0.8 and throws points across the map, where
    some stay stuck beside another cluster: which points depended on the last bits of P, so on
    the BLAS build that computed the distances.
    """
    x = as_vectors(x, "x")
    if x.ndim != 2 or x.shape[0] < 3:
        raise ValueError(f"t-SNE needs a 2-D array of at least 3 rows, got shape {x.shape}")
    n = x.shape[0]
    if perplexity is None:
        perplexity = min(30.0, (n - 1) / 3.0)
    if not 1.0 <= perplexity < n:
        raise ValueError(f"perplexity must be in [1, N) = [1, {n}), got {perplexity}")
    if isinstance(learning_rate, str) and learning_rate == "auto":
        learning_rate = max(n / early_exaggeration / 4.0, 50.0)
    elif isinstance(learning_rate, str) or not learning_rate > 0:
        raise ValueError(f"learning_rate must be a positive number or 'auto', got {learning_rate!r}")
    if init not in ("pca", "random"):
        raise ValueError(f"init must be 'pca' or 'random', got {init!r}")
    p = joint_affinities(x, perplexity)
    if init == "pca" and min(x.shape) >= n_components:
        y = pca(x, n_components)
        y = y / max(y[:, 0].std(), 1e-12) * 1e-4
    else:
        y = make_rng(rng, None if rng is not None else seed).normal(0.0, 1e-4, (n, n_components))
    update = np.zeros_like(y)
    gains = np.ones_like(y)
    for it in range(n_iter):
        if it == exaggeration_iter:  # the second phase starts from rest (see the docstring)
            update = np.zeros_like(y)
            gains = np.ones_like(y)
        exaggerate = it < exaggeration_iter
        grad, _ = tsne_gradient(y, p, early_exaggeration if exaggerate else 1.0)
        momentum = 0.5 if exaggerate else 0.8
        flip = np.sign(grad) != np.sign(update)
        gains = np.where(flip, gains + 0.2, gains * 0.8)
        np.maximum(gains, 0.01, out=gains)
        update = momentum * update - learning_rate * gains * grad
        y += update
        y -= y.mean(0)
        if (history is not None or verbose) and (it + 1) % 50 == 0:
            kl = kl_divergence(y, p)
            if history is not None:
                history.append((it + 1, kl))
            if verbose:
                print(f"t-SNE iteration {it + 1}: KL {kl:.4f}")
    return y


# ------------------------------------------------------------------------------ plotting
def spaced_labels(coords, spacing: float, max_labels: int) -> list[int]:
    """Which points of ``coords`` (N, 2) to label so that labels do not pile up: in order, point ``i``
    is taken if it lies at least ``spacing`` (a fraction of the coordinates' width and height) from
    every point taken before it, up to ``max_labels`` points. ``spacing = 0`` takes the first
    ``max_labels`` points."""
    if spacing < 0:
        raise ValueError(f"label_spacing must be >= 0, got {spacing}")
    coords = np.asarray(coords, dtype=np.float64)
    n = min(len(coords), max_labels) if spacing == 0 else len(coords)
    if spacing == 0:
        return list(range(n))
    span = np.ptp(coords, axis=0)
    scaled = coords / np.where(span > 0, span, 1.0)
    taken: list[int] = []
    for i in range(len(coords)):
        if len(taken) == max_labels:
            break
        if not taken or np.min(np.hypot(*(scaled[taken] - scaled[i]).T)) >= spacing:
            taken.append(i)
    return taken


def plot_embeddings(vectors, labels=None, method: str = "pca", ax=None, groups=None, max_labels: int = 300,
                    title: str | None = None, label_spacing: float = 0.0, **tsne_options):
    """Scatter the rows of ``vectors`` in 2-D with their labels; returns ``(figure, coords (N, 2))``.

    method: ``"pca"``, ``"tsne"`` (``tsne_options`` are passed on), or ``"none"`` for vectors
    that already are 2-D. ``groups`` (N,) colours points by category. Labels get a thin white
    outline so they stay readable over points; beyond ``max_labels`` only the first
    ``max_labels`` points are labelled (say so in the title).

    label_spacing: with ``s > 0``, a point is labelled only if it lies at least ``s`` (a fraction of
    the plot's width and height, e.g. 0.04) from every point labelled before it, so labels do not pile
    up; points earlier in ``vectors`` (put the most important first) win. The title says how many
    were labelled.
    """
    import matplotlib.pyplot as plt
    from matplotlib import patheffects

    vectors = as_vectors(vectors, "vectors")
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be 2-D (N, D), got shape {vectors.shape}")
    n = vectors.shape[0]
    if labels is not None and len(labels) != n:
        raise ValueError(f"got {len(labels)} labels for {n} vectors")
    if method == "pca":
        coords = pca(vectors, 2)
    elif method == "tsne":
        coords = tsne(vectors, **tsne_options)
    elif method == "none":
        if vectors.shape[1] != 2:
            raise ValueError(f"method='none' needs 2-D points, got {vectors.shape[1]} columns")
        coords = vectors.astype(np.float64)
    else:
        raise ValueError(f"method must be 'pca', 'tsne' or 'none', got {method!r}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 7))
    else:
        fig = ax.figure
    if groups is not None:
        groups = np.asarray(groups)
        for g in np.unique(groups):
            m = groups == g
            ax.scatter(coords[m, 0], coords[m, 1], s=14, alpha=0.75, label=str(g))
        ax.legend(loc="best", fontsize=8, markerscale=1.5)
    else:
        ax.scatter(coords[:, 0], coords[:, 1], s=12, alpha=0.6, color="tab:blue")
    shown = ""
    if labels is not None:
        size = 9 if n <= 60 else 7 if n <= 200 else 6
        outline = [patheffects.withStroke(linewidth=2.5, foreground="white")]
        chosen = spaced_labels(coords, label_spacing, max_labels)
        for i in chosen:
            ax.annotate(str(labels[i]), coords[i], xytext=(3, 2), textcoords="offset points", fontsize=size,
                        path_effects=outline)
        if label_spacing > 0 and len(chosen) < n:
            shown = f" ({len(chosen)} of {n} labelled, spaced apart)"
        elif n > max_labels:
            shown = f" (first {max_labels} of {n} labelled)"
    ax.set_title((title or f"{method.upper() if method != 'none' else 'Points'} map of {n} vectors") + shown)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    return fig, coords
