"""Recommendation embeddings: users and items in one space, a dot product for a score.

* :class:`FunkSVD` — biased matrix factorisation by SGD (Surprise's ``SVD``), for star ratings.
* :class:`ExplicitALS` — the same model by alternating least squares.
* :class:`ImplicitALS` — weighted ALS for implicit feedback (Hu, Koren & Volinsky), conjugate gradient or Cholesky.
* :class:`BPR` — Bayesian personalised ranking with sampled negatives.
* :class:`MostPopular` — the baseline every model must beat.

Every model: ``fit(ratings)``, ``recommend(user, k, filter_seen=True)``, ``similar_items(item, k)``,
``user_vectors`` / ``item_vectors`` as :class:`minembed.space.KeyedVectors`, ``save`` / ``load``.
Evaluation (RMSE, k-fold, precision/recall/NDCG/MAP@k) lives in :mod:`minembed.space.ranking`.
"""
from .base import Recommender
from .explicit import ExplicitALS, FunkSVD
from .implicit import BPR, ImplicitALS, MostPopular

__all__ = ["Recommender", "FunkSVD", "ExplicitALS", "ImplicitALS", "BPR", "MostPopular"]
