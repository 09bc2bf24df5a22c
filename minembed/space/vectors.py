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
from .evaluate import pearson_r, spearman_rho, t_test_pvalue
from .formats import load_word2vec_format, save_word2vec_format


class KeyedVectors:
    """Words ``index_to_key`` (most frequent first, usually) and their vectors ``vectors (V, D)``."""

    def __init__(self, index_to_key, vectors, counts=None):
        vectors = np.asarray(vectors)
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be 2-D (V, D), got shape {vectors.shape}")
        if not np.issubdtype(vectors.dtype, np.floating):
            raise TypeError(f"vectors must be floating point, got {vectors.dtype}")
        self.index_to_key = list(index_to_key)
        if len(self.index_to_key) != vectors.shape[0]:
            raise ValueError(f"{len(self.index_to_key)} words but {vectors.shape[0]} vectors")
        self.key_to_index = {w: i for i, w in enumerate(self.index_to_key)}
        if len(self.key_to_index) != len(self.index_to_key):
            seen = set()
            dup = next(w for w in self.index_to_key if w in seen or seen.add(w))
            raise ValueError(f"word {dup!r} appears twice")
        self.vectors = vectors
        self.counts = None if counts is None else np.asarray(counts, dtype=np.int64)
        self._unit = None

    # ------------------------------------------------------------------ basics
    @property
    def vector_size(self) -> int:
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __contains__(self, word) -> bool:
        return word in self.key_to_index

    def get_index(self, word) -> int:
        try:
            return self.key_to_index[word]
        except (KeyError, TypeError):
            hint = ""  # "King" when only "king" was kept (a lowercased corpus): say so
            if isinstance(word, str) and word.lower() != word and word.lower() in self.key_to_index:
                hint = f"; did you mean {word.lower()!r}?"
            raise KeyError(f"word {word!r} is not in the vocabulary{hint}") from None

    def get_vector(self, word, norm: bool = False) -> np.ndarray:
        i = self.get_index(word)
        return self.unit_vectors[i] if norm else self.vectors[i]

    def __getitem__(self, words):
        if isinstance(words, str):
            return self.get_vector(words)
        return np.stack([self.get_vector(w) for w in words])

    def __repr__(self) -> str:
        return f"WordVectors({len(self)} words, {self.vector_size} dims)"

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

    def clear_norms(self) -> None:
        """Forget the unit-length copy (after ``vectors`` changed); the next query recomputes it."""
        self._unit = None

    @property
    def unit_vectors(self) -> np.ndarray:
        """Every vector scaled to length 1, (V, D) float32."""
        self.fill_norms()
        return self._unit

    # -------------------------------------------------------------- similarity
    def _top_k_cosine(self, queries: np.ndarray, exclude, topn: int, restrict_vocab: int | None = None):
        """THE similarity search: for each unit-length query row (Q, D), the ``topn`` rows of the unit
        table (only the first ``restrict_vocab`` words, if given) with the highest cosine, skipping the
        indices in ``exclude[q]``. Returns (indices (Q, k), scores (Q, k)), best first.

        Runs minembed's exact blocked top-k kernel (bounded memory, ties broken by lower index).
        """
        from ..kernels.similarity import exclude_to_csr, topk_blocked

        table = self.unit_vectors if restrict_vocab is None else self.unit_vectors[:restrict_vocab]
        n = table.shape[0]
        ptr, ids = exclude_to_csr([[int(i) for i in ex if 0 <= i < n] for ex in exclude], len(queries))
        idx, best = topk_blocked(np.ascontiguousarray(queries, dtype=np.float32), table, max(int(topn), 0), "dot",
                                 exclude_ptr=ptr, exclude_ids=ids)
        keep = idx >= 0
        if not keep.all():  # fewer candidates than topn after exclusion: trim the padding
            k = int(keep.sum(axis=1).min())
            idx, best = idx[:, :k], best[:, :k]
        return idx, best

    def _as_terms(self, items, weight):
        if items is None:
            return []
        if isinstance(items, (str, np.ndarray)):
            items = [items]
        return [(x, weight) for x in items]

    def _mean_unit(self, terms):
        """Weighted mean of unit vectors (words or raw vectors), scaled to length 1; and word indices."""
        vecs, used = [], []
        for item, weight in terms:
            if isinstance(item, np.ndarray):
                v = item.astype(np.float32).ravel()
                if v.shape[0] != self.vector_size:
                    raise ValueError(f"a query vector must have {self.vector_size} values, got {v.shape[0]}")
                v = v / max(float(np.linalg.norm(v)), 1e-12)
            else:
                i = self.get_index(item)
                used.append(i)
                v = self.unit_vectors[i]
            vecs.append(weight * v)
        if not vecs:
            raise ValueError("cannot compute similarity with no input")
        mean = np.mean(vecs, axis=0)
        return mean / max(float(np.linalg.norm(mean)), 1e-12), used

    def most_similar(self, positive=None, negative=None, topn: int | None = 10, restrict_vocab: int | None = None):
        """Words closest (cosine) to the mean of the unit vectors of ``positive`` minus ``negative``
        (words or vectors); the input words are left out. ``[(word, cosine), ...]``, best first;
        ``topn=None`` returns the cosine with every word as an array instead."""
        terms = self._as_terms(positive, 1.0) + self._as_terms(negative, -1.0)
        query, used = self._mean_unit(terms)
        if topn is None:
            table = self.unit_vectors if restrict_vocab is None else self.unit_vectors[:restrict_vocab]
            return table @ query
        idx, scores = self._top_k_cosine(query[None, :], [used], topn, restrict_vocab)
        return [(self.index_to_key[i], float(s)) for i, s in zip(idx[0], scores[0], strict=True)]

    def similar_by_vector(self, vector, topn: int = 10, restrict_vocab: int | None = None):
        return self.most_similar(positive=[np.asarray(vector)], topn=topn, restrict_vocab=restrict_vocab)

    def similar_by_word(self, word, topn: int = 10, restrict_vocab: int | None = None):
        return self.most_similar(positive=[word], topn=topn, restrict_vocab=restrict_vocab)

    def most_similar_cosmul(self, positive=None, negative=None, topn: int = 10, restrict_vocab: int | None = None):
        """Levy & Goldberg (2014) 3CosMul: maximise prod((1 + cos(w, p)) / 2) / (prod((1 + cos(w, n)) / 2) + 1e-6).

        Runs the blocked 3CosMul top-k kernel of :mod:`minembed.kernels.similarity`."""
        pos = [self.get_index(w) for w in ([positive] if isinstance(positive, str) else (positive or []))]
        neg = [self.get_index(w) for w in ([negative] if isinstance(negative, str) else (negative or []))]
        if not pos and not neg:
            raise ValueError("cannot compute similarity with no input")
        from ..kernels.similarity import exclude_to_csr, topk_cosmul

        unit = self.unit_vectors
        table = unit if restrict_vocab is None else unit[:restrict_vocab]
        ptr, ids = exclude_to_csr([[i for i in pos + neg if i < table.shape[0]]], 1)
        positive_ids = np.array([pos], dtype=np.int64)
        negative_ids = np.array([neg], dtype=np.int64).reshape(1, -1)
        idx, scores = topk_cosmul(table, positive_ids, negative_ids, topn, ptr, ids, query_table=unit)
        return [(self.index_to_key[i], float(s)) for i, s in zip(idx[0], scores[0], strict=True) if i >= 0]

    def similarity(self, w1, w2) -> float:
        """Cosine similarity of two words."""
        return float(self.get_vector(w1, norm=True) @ self.get_vector(w2, norm=True))

    def distance(self, w1, w2) -> float:
        return 1.0 - self.similarity(w1, w2)

    def doesnt_match(self, words) -> str:
        """The word furthest from the mean of the others' unit vectors (all words must be known)."""
        words = list(words)
        if not words:
            raise ValueError("doesnt_match needs at least one word")
        unit = np.stack([self.get_vector(w, norm=True) for w in words])
        mean = unit.mean(axis=0)
        mean /= max(float(np.linalg.norm(mean)), 1e-12)
        return words[int(np.argmin(unit @ mean))]

    def closer_than(self, w1, w2) -> list[str]:
        """Every word more similar to ``w1`` than ``w2`` is, most similar first."""
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
                                dummy4unknown: bool = False):
        """Accuracy on "a b c d" questions (a is to b as c is to d), gensim's rules:

        only the ``restrict_vocab`` most frequent words are candidates; questions with a word outside
        them are skipped (or counted wrong with ``dummy4unknown``); the answer is the best word by
        3CosAdd (``most_similar(positive=[b, c], negative=[a])``) that is not a, b or c.
        Returns ``(accuracy, sections)`` where sections is a list of
        ``{"section": name, "correct": [(a, b, c, d), ...], "incorrect": [...]}`` ending with
        ``"Total accuracy"``. A malformed line raises ``ValueError`` with its number.
        """
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
            query = unit[abc[:, 1]] + unit[abc[:, 2]] - unit[abc[:, 0]]
            query /= np.maximum(np.linalg.norm(query, axis=1, keepdims=True), 1e-12)
            idx, _ = self._top_k_cosine(query, abc, 5, restrict_vocab)
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
    def load_word2vec_format(cls, path, binary: bool = False, limit: int | None = None) -> KeyedVectors:
        """Read a word2vec.c / gensim file (see :func:`minembed.space.formats.load_word2vec_format`)."""
        keys, vectors = load_word2vec_format(path, binary=binary, limit=limit)
        return cls(keys, vectors)

    def save(self, path) -> None:
        """``.npz`` with the words, vectors and counts (no pickle), written atomically."""
        arrays = {"words": np.array(self.index_to_key, dtype=str), "vectors": self.vectors}
        if self.counts is not None:
            arrays["counts"] = self.counts
        save_npz(path, **arrays)

    @classmethod
    def load(cls, path) -> KeyedVectors:
        data = load_npz(path)
        if "words" not in data or "vectors" not in data:
            raise ValueError(f"{path} is not a minembed WordVectors file (needs 'words' and 'vectors')")
        return cls(data["words"].tolist(), data["vectors"], data.get("counts"))


WordVectors = KeyedVectors  # the name minembed used first; gensim's is KeyedVectors
