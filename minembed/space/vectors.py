"""KeyedVectors: a table of vectors looked up by key, and what you do with it (gensim's name for it).

The keys are words for word2vec, but any hashable labels work the same way (item ids, image ids).
``WordVectors`` is the same class under the name minembed gave it first.

    wv = model.wv                      # or KeyedVectors.load_word2vec_format("vectors.bin", binary=True)
    wv["king"]                         # (D,) float32
    wv.most_similar(positive=["king", "woman"], negative=["man"], topn=5)
    wv.evaluate_word_analogies("questions-words.txt")

Similarity search goes through one private method, :meth:`KeyedVectors._top_k_cosine`, so a faster
top-k kernel can be swapped in at one place. Unknown words raise ``KeyError`` naming the word.
"""
from __future__ import annotations

import numpy as np

from ..io import load_npz, save_npz
from ..kernels.validate import check_positive_int
from .evaluate import pearson_r, spearman_rho, t_test_pvalue
from .formats import load_word2vec_format, save_word2vec_format
from .search import ExactIndex, analogy_targets, as_vectors, cosmul_topk, normalize


class KeyedVectors:
    """Keys ``index_to_key`` (most frequent first, usually) and their vectors ``vectors (V, D)``.

    Every similarity query goes through one path, :meth:`_top_k_cosine`: an
    :class:`~minembed.space.search.ExactIndex` over the unit-length table, built on the first
    query and dropped by :meth:`clear_norms` (training and :meth:`add_vectors` call it).

    Non-finite values are refused (here, and by the file readers, which name the line): a NaN row
    would otherwise have no place in a ranking. A key the table does not hold goes to
    :meth:`vector_for_unseen`, which raises ``KeyError``; a subclass that can build vectors for
    unseen keys (fastText from character n-grams) overrides that one method.
    """

    def __init__(self, index_to_key, vectors, counts=None):
        vectors = np.asarray(vectors)
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be 2-D (V, D), got shape {vectors.shape}")
        if not np.issubdtype(vectors.dtype, np.floating):
            raise TypeError(f"vectors must be floating point, got {vectors.dtype}")
        self.index_to_key = list(index_to_key)
        if len(self.index_to_key) != vectors.shape[0]:
            raise ValueError(f"{len(self.index_to_key)} keys but {vectors.shape[0]} vectors")
        bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
        if len(bad):
            raise ValueError(f"the vector of {self.index_to_key[bad[0]]!r} (row {bad[0]}) has NaN or infinite "
                             f"values ({len(bad)} such rows)")
        self.key_to_index = {w: i for i, w in enumerate(self.index_to_key)}
        if len(self.key_to_index) != len(self.index_to_key):
            seen = set()
            dup = next(w for w in self.index_to_key if w in seen or seen.add(w))
            raise ValueError(f"key {dup!r} appears twice")
        self.vectors = vectors
        self.counts = None if counts is None else np.asarray(counts, dtype=np.int64)
        self._unit = None
        self._index = None

    # ------------------------------------------------------------------ keys
    @property
    def vector_size(self) -> int:
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.index_to_key)

    def has_index_for(self, key) -> bool:
        """True when the table stores a row for ``key``."""
        try:
            return key in self.key_to_index
        except TypeError:  # unhashable
            return False

    def __contains__(self, key) -> bool:
        return self.has_index_for(key)

    def _missing(self, key) -> KeyError:
        hint = ""
        if isinstance(key, str) and key != key.lower() and self.has_index_for(key.lower()):
            hint = f"; did you mean {key.lower()!r}?"  # a lowercased corpus kept only "king"
        what = "word" if isinstance(key, str) else "key"
        return KeyError(f"{what} {key!r} is not in the vocabulary{hint}")

    def get_index(self, key) -> int:
        """The row of ``key``; ``KeyError`` naming it (and its lowercase form, if that is stored)."""
        if self.has_index_for(key):
            return self.key_to_index[key]
        raise self._missing(key)

    def vector_for_unseen(self, key) -> np.ndarray:
        """The hook for keys with no row: here a ``KeyError``; fastText-style subclasses build one."""
        raise self._missing(key)

    def get_vector(self, key, norm: bool = False) -> np.ndarray:
        """The (D,) vector of ``key`` (unit length with ``norm``); unseen keys go to :meth:`vector_for_unseen`."""
        if self.has_index_for(key):
            i = self.key_to_index[key]
            return self.unit_vectors[i] if norm else self.vectors[i]
        v = np.asarray(self.vector_for_unseen(key), dtype=np.float32)
        return v / max(float(np.linalg.norm(v)), 1e-12) if norm else v

    def __getitem__(self, keys):
        if isinstance(keys, str) or not hasattr(keys, "__iter__"):
            return self.get_vector(keys)
        return np.stack([self.get_vector(k) for k in keys])

    def __setitem__(self, keys, vectors) -> None:
        """``wv[key] = vector`` or ``wv[[k1, k2]] = (2, D) array``: add, or replace, as gensim does."""
        self.add_vectors([keys] if isinstance(keys, str) or not hasattr(keys, "__iter__") else keys,
                         vectors, replace=True)

    def add_vectors(self, keys, vectors, replace: bool = False) -> None:
        """Append new keys with their vectors (N, D) or (D,); keys already stored keep their vector
        unless ``replace``. Every value is checked before anything changes."""
        keys = [keys] if isinstance(keys, str) or not hasattr(keys, "__iter__") else list(keys)
        vectors = np.asarray(vectors)
        vectors = vectors.reshape(1, -1) if vectors.ndim == 1 else vectors
        if vectors.ndim != 2 or vectors.shape != (len(keys), self.vector_size):
            raise ValueError(f"need one ({self.vector_size},) vector per key: {len(keys)} keys, vectors of shape "
                             f"{vectors.shape}")
        if len(set(keys)) != len(keys):
            raise ValueError("a key appears twice in the keys to add")
        if not np.isfinite(vectors).all():
            raise ValueError("vectors to add have NaN or infinite values")
        stored = np.array([self.has_index_for(k) for k in keys], dtype=bool)
        new_keys = [k for k, s in zip(keys, stored, strict=True) if not s]
        for k in new_keys:
            hash(k)  # an unhashable key fails here, before anything changed
        if replace and stored.any():
            rows = [self.key_to_index[k] for k, s in zip(keys, stored, strict=True) if s]
            self.vectors[rows] = vectors[stored]
        if new_keys:
            self.vectors = np.vstack([self.vectors, vectors[~stored].astype(self.vectors.dtype)])
            for k in new_keys:
                self.key_to_index[k] = len(self.index_to_key)
                self.index_to_key.append(k)
            if self.counts is not None:
                self.counts = np.concatenate([self.counts, np.zeros(len(new_keys), np.int64)])
        self.clear_norms()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} keys, {self.vector_size} dims)"

    # --------------------------------------------------------------- unit table
    def fill_norms(self, force: bool = False) -> None:
        """Compute (or, with ``force``, recompute) the unit-length copy used by similarity queries.

        It is computed lazily, on the first query, and costs one more (V, D) float32 table; after
        changing ``vectors`` in place call :meth:`clear_norms` (training does) so it is redone.
        """
        if self._unit is None or force:
            unit = self.vectors.astype(np.float32, copy=True)
            norms = np.sqrt(np.einsum("ij,ij->i", unit, unit))  # no (V, D) temporary, unlike linalg.norm
            unit /= np.maximum(norms, np.float32(1e-12))[:, None]
            self._unit = unit
            self._index = None

    def clear_norms(self) -> None:
        """Forget the unit-length copy and its index (after ``vectors`` changed); the next query redoes them."""
        self._unit = None
        self._index = None

    @property
    def unit_vectors(self) -> np.ndarray:
        """Every vector scaled to length 1, (V, D) float32."""
        self.fill_norms()
        return self._unit

    def get_normed_vectors(self) -> np.ndarray:
        """gensim's name for :attr:`unit_vectors`."""
        return self.unit_vectors

    # -------------------------------------------------------------- similarity
    def _search_index(self, restrict_vocab: int | None) -> ExactIndex:
        """The exact index over the unit table, or over its first ``restrict_vocab`` rows; "dot" = cosine here.

        Kept until :meth:`clear_norms`: the index for the last ``restrict_vocab`` asked is reused, so
        evaluating thousands of analogies in batches checks the (restricted) table once, not per batch.
        """
        n = len(self)
        if restrict_vocab is not None:
            n = min(check_positive_int(restrict_vocab, "restrict_vocab"), n)
        if self._index is None or len(self._index) != n:
            self._index = ExactIndex(self.unit_vectors[:n], metric="dot")
        return self._index

    def _top_k_cosine(self, queries: np.ndarray, exclude, topn: int, restrict_vocab: int | None = None):
        """THE similarity search: for each query row (Q, D), the ``topn`` rows of the unit table
        (only the first ``restrict_vocab`` keys, if given) with the highest cosine, skipping the
        rows in ``exclude[q]``. Returns (indices (Q, k), scores (Q, k)), best first, ties by lower
        row; fewer than ``topn`` columns when the exclusions leave fewer rows.
        """
        index = self._search_index(restrict_vocab)
        n = len(index)
        exclude = [[int(i) for i in ex if 0 <= i < n] for ex in exclude]
        idx, best = index.search(normalize(queries), topn, exclude=exclude)
        keep = idx >= 0
        if not keep.all():  # fewer candidates than topn after exclusion: trim the padding
            k = int(keep.sum(axis=1).min())
            idx, best = idx[:, :k], best[:, :k]
        return idx, best

    def _terms(self, positive, negative):
        """gensim's query terms: keys, vectors, or (key or vector, weight) pairs; a 2-D array is one
        term per row. Positive terms weigh +1 and negative ones -1 unless a pair gives the weight."""
        terms = []
        for items, default in ((positive, 1.0), (negative, -1.0)):
            if items is None:
                continue
            if isinstance(items, str) or (isinstance(items, np.ndarray) and items.ndim == 1):
                items = [items]
            elif isinstance(items, np.ndarray) and items.ndim == 2:
                items = list(items)
            for item in items:
                if isinstance(item, tuple) and len(item) == 2 and not isinstance(item[1], str):
                    terms.append((item[0], float(item[1])))
                else:
                    terms.append((item, default))
        return terms

    def _term_vector(self, item, normalize_vectors: bool) -> np.ndarray:
        if isinstance(item, np.ndarray):
            v = as_vectors(item, "query vector").ravel()
            if v.shape[0] != self.vector_size:
                raise ValueError(f"a query vector must have {self.vector_size} values, got {v.shape[0]}")
            return v / max(float(np.linalg.norm(v)), 1e-12) if normalize_vectors else v
        return self.get_vector(item, norm=True)

    def get_mean_vector(self, keys, weights=None, pre_normalize: bool = True, post_normalize: bool = False,
                        ignore_missing: bool = True) -> np.ndarray:
        """gensim's weighted mean: ``sum_i w_i v_i / sum_i |w_i|`` over the keys (unit vectors with
        ``pre_normalize``) and raw vectors given as arrays; missing keys are skipped, or raise
        ``KeyError`` when ``ignore_missing=False``; scaled to length 1 with ``post_normalize``."""
        keys = list(keys)
        if not keys:
            raise ValueError("cannot compute the mean of no keys")
        weights = np.ones(len(keys)) if weights is None else np.asarray(weights, dtype=np.float64)
        if weights.shape != (len(keys),):
            raise ValueError(f"got {len(keys)} keys but weights of shape {weights.shape}")
        total, weight = np.zeros(self.vector_size, np.float64), 0.0
        for key, w in zip(keys, weights, strict=True):
            if isinstance(key, np.ndarray):
                v = self._term_vector(key, normalize_vectors=False)
            else:
                try:  # stored, or (in a subclass such as fastText's) built by vector_for_unseen
                    v = self.get_vector(key, norm=pre_normalize)
                except KeyError:
                    if ignore_missing:
                        continue
                    raise
            total += w * v
            weight += abs(w)
        if weight == 0:
            raise ValueError("none of the keys is in the vocabulary")
        mean = (total / weight).astype(np.float32)
        return mean / max(float(np.linalg.norm(mean)), 1e-12) if post_normalize else mean

    def most_similar(self, positive=None, negative=None, topn: int | None = 10, restrict_vocab: int | None = None):
        """Keys closest (cosine) to gensim's query: the weighted mean of the unit vectors of the
        ``positive`` keys minus the ``negative`` ones (raw vectors and ``(key, weight)`` pairs are
        allowed, as in gensim; a 2-D array is one term per row). The query keys are left out.
        Returns ``[(key, cosine), ...]``, best first; ``topn=None`` returns the cosine with every key.

        Differs from gensim on purpose: ``topn`` of 0 or less raises ``ValueError`` (gensim returns ``[]``).
        """
        terms = self._terms(positive, negative)
        if not terms:
            raise ValueError("cannot compute similarity with no input")
        keys = [t for t, _ in terms]
        query = self.get_mean_vector(keys, [w for _, w in terms], post_normalize=True, ignore_missing=False)
        used = [self.key_to_index[k] for k in keys if not isinstance(k, np.ndarray) and self.has_index_for(k)]
        if topn is None:
            table = self.unit_vectors if restrict_vocab is None else self.unit_vectors[:restrict_vocab]
            return table @ query
        topn = check_positive_int(topn, "topn")
        idx, scores = self._top_k_cosine(query[None, :], [used], topn, restrict_vocab)
        return [(self.index_to_key[i], float(s)) for i, s in zip(idx[0], scores[0], strict=True)]

    def similar_by_vector(self, vector, topn: int = 10, restrict_vocab: int | None = None):
        return self.most_similar(positive=[np.asarray(vector)], topn=topn, restrict_vocab=restrict_vocab)

    def similar_by_key(self, key, topn: int = 10, restrict_vocab: int | None = None):
        return self.most_similar(positive=[key], topn=topn, restrict_vocab=restrict_vocab)

    similar_by_word = similar_by_key

    def most_similar_cosmul(self, positive=None, negative=None, topn: int = 10, restrict_vocab: int | None = None):
        """Levy & Goldberg (2014) 3CosMul over the candidates ``w``:
        ``prod_p cos'(w, p) / (prod_n cos'(w, n) + 1e-6)`` with ``cos' = (1 + cos) / 2``.

        ``positive`` / ``negative`` are keys or vectors (a 2-D array is one vector per row), as in
        :meth:`most_similar`; the query keys are left out. Differs from gensim on purpose: a raw
        vector is scaled to unit length first (gensim divides by the candidates' norms only, so its
        ``cos'`` of a long vector is not a cosine), and ``topn`` < 1 raises.
        """
        terms = self._terms(positive, negative)
        pos = [t for t, w in terms if w > 0]
        neg = [t for t, w in terms if w < 0]
        if not pos:
            raise ValueError("3CosMul needs at least one positive key or vector")
        topn = check_positive_int(topn, "topn")
        query_table = np.stack([self._term_vector(t, normalize_vectors=True) for t in pos + neg])
        used = [self.key_to_index[t] for t in pos + neg if not isinstance(t, np.ndarray) and self.has_index_for(t)]
        table = self._search_index(restrict_vocab).database
        n = table.shape[0]
        idx, scores = cosmul_topk(table, np.arange(len(pos))[None, :], np.arange(len(pos), len(pos) + len(neg))[None],
                                  topn, exclude=[[i for i in used if i < n]], query_vectors=query_table)
        return [(self.index_to_key[i], float(s)) for i, s in zip(idx[0], scores[0], strict=True) if i >= 0]

    def similarity(self, w1, w2) -> float:
        """Cosine similarity of two keys (exactly 1.0 for a key with itself)."""
        if w1 == w2:
            self.get_vector(w1)  # still a KeyError for an unknown key
            return 1.0
        return float(self.get_vector(w1, norm=True) @ self.get_vector(w2, norm=True))

    def distance(self, w1, w2) -> float:
        """``1 - similarity``: exactly 0 for a key with itself."""
        return 1.0 - self.similarity(w1, w2)

    def n_similarity(self, keys1, keys2) -> float:
        """Cosine between the means of two sets of keys (gensim: the mean of the raw vectors)."""
        keys1, keys2 = list(keys1), list(keys2)
        if not keys1 or not keys2:
            raise ValueError("n_similarity needs at least one key on each side")
        a = np.mean([self.get_vector(k) for k in keys1], axis=0)
        b = np.mean([self.get_vector(k) for k in keys2], axis=0)
        return float(a @ b / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-12))

    def relative_cosine_similarity(self, wa, wb, topn: int = 10) -> float:
        """Leeuwenberg et al. (2016): ``cos(wa, wb) / sum of cos(wa, n)`` over the ``topn``
        nearest neighbours ``n`` of ``wa``; above ``1 / topn`` means wb is closer than average."""
        topn = check_positive_int(topn, "topn")
        total = sum(s for _, s in self.most_similar(wa, topn=topn))
        return self.similarity(wa, wb) / total

    def most_similar_to_given(self, key, keys_list):
        """The key of ``keys_list`` most similar to ``key`` (the first one on ties)."""
        keys_list = list(keys_list)
        if not keys_list:
            raise ValueError("keys_list is empty")
        return keys_list[int(np.argmax([self.similarity(key, k) for k in keys_list]))]

    def doesnt_match(self, words) -> str:
        """The key furthest from the mean of the others' unit vectors (all keys must be known)."""
        words = list(words)
        if not words:
            raise ValueError("doesnt_match needs at least one word")
        unit = np.stack([self.get_vector(w, norm=True) for w in words])
        mean = unit.mean(axis=0)
        mean /= max(float(np.linalg.norm(mean)), 1e-12)
        return words[int(np.argmin(unit @ mean))]

    def closer_than(self, w1, w2) -> list[str]:
        """Every key more similar to ``w1`` than ``w2`` is, most similar first."""
        i1, i2 = self.get_index(w1), self.get_index(w2)
        idx, scores = self._top_k_cosine(self.unit_vectors[i1][None, :], [[i1]], len(self))
        limit = float(self.unit_vectors[i1] @ self.unit_vectors[i2])
        return [self.index_to_key[i] for i, s in zip(idx[0], scores[0], strict=True) if s > limit and i != i2]

    def rank(self, w1, w2) -> int:
        """Rank of ``w2`` among ``w1``'s neighbours (1 = nearest)."""
        return len(self.closer_than(w1, w2)) + 1

    # -------------------------------------------------------------- evaluation
    def _ok_vocab(self, restrict_vocab, case_insensitive):
        keys = self.index_to_key[:restrict_vocab]
        if case_insensitive:  # the most frequent spelling wins, like gensim
            return {k.upper(): i for i, k in reversed(list(enumerate(keys)))}
        return {k: i for i, k in enumerate(keys)}

    def evaluate_word_analogies(self, analogies, restrict_vocab: int = 300000, case_insensitive: bool = True,
                                dummy4unknown: bool = False, similarity_function: str = "most_similar"):
        """Accuracy on "a b c d" questions (a is to b as c is to d), gensim's rules:

        only the ``restrict_vocab`` most frequent words are candidates; questions with a word outside
        them are skipped (or counted wrong with ``dummy4unknown``); the answer is the best word that
        is not a, b or c by 3CosAdd (``similarity_function="most_similar"``, the query
        :func:`~minembed.space.search.analogy_targets`) or by 3CosMul (``"most_similar_cosmul"``).
        Returns ``(accuracy, sections)`` where sections is a list of
        ``{"section": name, "correct": [(a, b, c, d), ...], "incorrect": [...]}`` ending with
        ``"Total accuracy"``. A malformed line raises ``ValueError`` with its number.
        (gensim 4 accepts ``similarity_function`` too but always answers with ``most_similar``.)
        """
        if similarity_function not in ("most_similar", "most_similar_cosmul"):
            raise ValueError("similarity_function must be 'most_similar' or 'most_similar_cosmul', "
                             f"got {similarity_function!r}")
        ok = self._ok_vocab(restrict_vocab, case_insensitive)
        norm = str.upper if case_insensitive else (lambda s: s)
        sections, current = [], None
        questions = []  # (section index, original quad, normalised quad)
        with open(analogies, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):
                line = line.strip()
                if not line:
                    continue
                if line.startswith(":"):
                    current = {"section": line.lstrip(": ").strip(), "correct": [], "incorrect": []}
                    sections.append(current)
                    continue
                if current is None:
                    raise ValueError(f"{analogies}: line {lineno}: a question before the first ': section' header")
                parts = line.split()
                if len(parts) != 4:
                    raise ValueError(f"{analogies}: line {lineno}: expected 4 words, got {len(parts)}")
                questions.append((len(sections) - 1, tuple(parts), tuple(norm(p) for p in parts)))
        answerable = [q for q in questions if all(w in ok for w in q[2])]
        if dummy4unknown:
            for sec, quad, nq in questions:
                if not all(w in ok for w in nq):
                    sections[sec]["incorrect"].append(quad)
        unit = self.unit_vectors
        batch = 128  # (batch, V) scores at a time: bounded memory
        for start in range(0, len(answerable), batch):
            part = answerable[start:start + batch]
            abc = np.array([[ok[w] for w in nq[:3]] for _, _, nq in part], dtype=np.int64)
            if similarity_function == "most_similar":
                idx, _ = self._top_k_cosine(analogy_targets(unit, abc[:, 0], abc[:, 1], abc[:, 2]), abc, 5,
                                            restrict_vocab)
            else:
                table = self._search_index(restrict_vocab).database
                exclude = [[i for i in row if i < len(table)] for row in abc.tolist()]
                idx, _ = cosmul_topk(table, abc[:, 1:], abc[:, :1], 5, exclude=exclude, query_vectors=unit)
            for (sec, quad, nq), row in zip(part, idx, strict=True):
                predicted = None
                for i in row:
                    w = norm(self.index_to_key[i])
                    if w in ok and w not in nq[:3]:
                        predicted = w
                        break
                (sections[sec]["correct"] if predicted == nq[3] else sections[sec]["incorrect"]).append(quad)
        total = {"section": "Total accuracy",
                 "correct": [q for s in sections for q in s["correct"]],
                 "incorrect": [q for s in sections for q in s["incorrect"]]}
        n = len(total["correct"]) + len(total["incorrect"])
        accuracy = len(total["correct"]) / n if n else 0.0
        return accuracy, sections + [total]

    def evaluate_word_pairs(self, pairs, delimiter: str = "\t", restrict_vocab: int = 300000,
                            case_insensitive: bool = True, dummy4unknown: bool = False):
        """Correlation of cosine similarity with human scores ("w1<TAB>w2<TAB>score" lines, ``#`` comments).

        Returns ``((pearson_r, p), (spearman_rho, p), oov_ratio_percent)`` like gensim. Spearman is
        Pearson on ranks (ties share their mean rank); p-values from Student's t with n - 2 dof.
        """
        ok = self._ok_vocab(restrict_vocab, case_insensitive)
        norm = str.upper if case_insensitive else (lambda s: s)
        gold, model, oov = [], [], 0
        with open(pairs, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):
                if line.startswith("#") or not line.strip():
                    continue
                parts = line.rstrip("\r\n").split(delimiter)
                if len(parts) != 3:
                    raise ValueError(f"{pairs}: line {lineno}: expected 3 fields separated by {delimiter!r}")
                try:
                    score = float(parts[2])
                except ValueError:
                    raise ValueError(f"{pairs}: line {lineno}: bad score {parts[2]!r}") from None
                a, b = norm(parts[0].strip()), norm(parts[1].strip())
                if a not in ok or b not in ok:
                    oov += 1
                    if dummy4unknown:
                        gold.append(score)
                        model.append(0.0)
                    continue
                gold.append(score)
                model.append(float(self.unit_vectors[ok[a]] @ self.unit_vectors[ok[b]]))
        if len(gold) < 3:
            raise ValueError(f"{pairs}: fewer than 3 pairs with both words in the vocabulary")
        gold, model = np.array(gold), np.array(model)
        pearson = pearson_r(gold, model)
        spearman = spearman_rho(gold, model)
        n = len(gold)
        oov_ratio = oov / (n + oov) * 100 if not dummy4unknown else oov / n * 100
        return (pearson, t_test_pvalue(pearson, n)), (spearman, t_test_pvalue(spearman, n)), oov_ratio

    # --------------------------------------------------------------------- files
    def save_word2vec_format(self, path, binary: bool = False, write_header: bool = True) -> None:
        """word2vec.c's format (see :func:`minembed.space.formats.save_word2vec_format`), written atomically."""
        save_word2vec_format(path, self.index_to_key, self.vectors, binary=binary, write_header=write_header)

    @classmethod
    def load_word2vec_format(cls, path, binary: bool | None = None, no_header: bool | None = None,
                             unicode_errors: str = "strict", datatype=np.float32,
                             limit: int | None = None) -> KeyedVectors:
        """Read a word2vec.c / gensim / GloVe file; ``binary`` and ``no_header`` are detected from the
        content when None (see :func:`minembed.space.formats.load_word2vec_format`)."""
        keys, vectors = load_word2vec_format(path, binary=binary, no_header=no_header, unicode_errors=unicode_errors,
                                             datatype=datatype, limit=limit)
        try:
            return cls(keys, vectors)
        except ValueError as err:  # e.g. a word twice: say which file
            raise ValueError(f"{path}: {err}") from None

    def save(self, path) -> None:
        """``.npz`` with the words, vectors and counts (no pickle), written atomically."""
        arrays = {"words": np.array(self.index_to_key, dtype=str), "vectors": self.vectors}
        if self.counts is not None:
            arrays["counts"] = self.counts
        save_npz(path, **arrays)

    @classmethod
    def load(cls, path) -> KeyedVectors:
        """Read what :meth:`save` wrote; a file that is not one raises ``ValueError`` naming it."""
        data = load_npz(path)
        if "words" not in data or "vectors" not in data:
            raise ValueError(f"{path} is not a minembed WordVectors file (needs 'words' and 'vectors')")
        try:
            return cls(data["words"].tolist(), data["vectors"], data.get("counts"))
        except (ValueError, TypeError) as err:  # NaN rows, a word twice, integer vectors: say which file
            raise type(err)(f"{path}: {err}") from None


WordVectors = KeyedVectors  # the name minembed used first; gensim's is KeyedVectors
