"""Solutions to the exercises of lesson 11 (Recommendations). Runs in a few seconds on generated data:

    PYTHONPATH=. python lessons/solutions/11_recommendations.py
"""
import numpy as np

from minembed.datasets import make_low_rank_ratings
from minembed.recsys import FunkSVD, ImplicitALS, MostPopular
from minembed.space import ranking as R

data, _ = make_low_rank_ratings(n_users=150, n_items=100, rank=3, density=0.3, noise=0.3, seed=0)
train_rows, test_rows = R.train_test_split(len(data), 0.2, seed=0)
train, test = data.subset(train_rows), data.subset(test_rows)
mu = float(train.rating.mean())


# 1. SGD with a decaying learning rate, against the library's FunkSVD ----------------------------------
def sgd_epoch(users, items, ratings, P, Q, bu, bi, mu, lr, reg, rng):
    for n in rng.permutation(len(ratings)):
        u, i = users[n], items[n]
        e = ratings[n] - (mu + bu[u] + bi[i] + P[u] @ Q[i])
        bu[u] += lr * (e - reg * bu[u])
        bi[i] += lr * (e - reg * bi[i])
        P[u], Q[i] = P[u] + lr * (e * Q[i] - reg * P[u]), Q[i] + lr * (e * P[u] - reg * Q[i])


rng = np.random.default_rng(0)
P, Q = 0.1 * rng.standard_normal((150, 20)), 0.1 * rng.standard_normal((100, 20))
bu, bi = np.zeros(150), np.zeros(100)
lr = 0.01
for _ in range(10):
    sgd_epoch(train.user, train.item, train.rating, P, Q, bu, bi, mu, lr, 0.05, rng)
    lr *= 0.95
ours = R.rmse(np.clip(mu + bu[test.user] + bi[test.item] + np.einsum("nd,nd->n", P[test.user], Q[test.item]), 1, 5),
              test.rating)
library = R.rmse(FunkSVD(n_factors=20, n_epochs=10).fit(train).predict(test.user, test.item), test.rating)
mean = R.rmse(np.full(len(test), mu), test.rating)
print(f"1. RMSE: mean {mean:.3f}, NumPy SGD with decay {ours:.3f}, FunkSVD(10 epochs) {library:.3f}")
assert ours < mean and library < mean

# 2. One ALS half-step over every user lowers the weighted loss ------------------------------------------
alpha, lam, D = 1.0, 0.5, 4
strength = train.to_dense(fill=0.0)
C = 1.0 + alpha * strength
Pref = (strength > 0).astype(float)


def weighted_loss(X, Y):
    return float((C * (Pref - X @ Y.T) ** 2).sum() + lam * ((X ** 2).sum() + (Y ** 2).sum()))


def als_step(X, Y, C):
    """Every row of X solved exactly given Y; C (rows of X, rows of Y) the confidences (1 on empty cells)."""
    YtY = Y.T @ Y + lam * np.eye(Y.shape[1])
    out = np.empty_like(X)
    for u in range(len(X)):
        items = np.flatnonzero(C[u] > 1.0)
        c = C[u, items]
        A = YtY + (Y[items].T * (c - 1.0)) @ Y[items]
        out[u] = np.linalg.solve(A, Y[items].T @ c)
    return out


X, Y = 0.1 * rng.standard_normal((150, D)), 0.1 * rng.standard_normal((100, D))
losses = [weighted_loss(X, Y)]
for _ in range(3):
    X = als_step(X, Y, C)        # users given items
    losses.append(weighted_loss(X, Y))
    Y = als_step(Y, X, C.T)      # items given users
    losses.append(weighted_loss(X, Y))
print("2. loss after each half-step:", [round(x, 1) for x in losses])
assert all(b <= a + 1e-9 for a, b in zip(losses, losses[1:], strict=False))

# 3. One BPR step's gradient, checked by finite differences ---------------------------------------------
p, qi, qj, bi_, bj_ = (rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal(5), 0.1, -0.2)


def log_sigma_x(p, qi, qj, bi_, bj_):
    x = p @ (qi - qj) + bi_ - bj_
    return -np.log1p(np.exp(-x))


x = p @ (qi - qj) + bi_ - bj_
g = 1.0 / (1.0 + np.exp(x))  # sigma(-x): d log sigma(x) / dx
analytic = {"p": g * (qi - qj), "qi": g * p, "qj": -g * p}
eps = 1e-6
for name in ("p", "qi", "qj"):
    numeric = np.zeros(5)
    for d in range(5):
        up, down = [a.copy() for a in (p, qi, qj)], [a.copy() for a in (p, qi, qj)]
        k = ("p", "qi", "qj").index(name)
        up[k][d] += eps
        down[k][d] -= eps
        numeric[d] = (log_sigma_x(*up, bi_, bj_) - log_sigma_x(*down, bi_, bj_)) / (2 * eps)
    assert np.allclose(numeric, analytic[name], atol=1e-7), name
print("3. BPR gradients match finite differences")

# 4. Precision@10 against the regularisation of implicit ALS ---------------------------------------------
pop = R.ranking_metrics(MostPopular().fit(train).recommend_all(10), test.user, test.item, 10)["precision"]
for reg in (0.1, 1.0, 10.0, 100.0):
    m = ImplicitALS(factors=8, regularization=reg, iterations=8).fit(train)
    precision = R.ranking_metrics(m.recommend_all(10), test.user, test.item, 10)["precision"]
    print(f"4. regularization {reg:6.1f}: precision@10 {precision:.3f} (most popular {pop:.3f})")
# Strong regularisation shrinks every vector towards 0; the items with many interactions keep the largest
# vectors (their data outweighs the penalty), so scores lean towards popular items: fine on popularity-heavy
# data such as MovieLens, harmful when tastes differ.
