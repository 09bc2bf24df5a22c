"""The BPE kernels (kernels/bpe.py) against their references: the regex, dictionaries, the naive trainer."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minembed.kernels import bpe as k
from minembed.text import bpe

# with MINEMBED_JIT=0 the compiled kernels run as plain Python, where the hashes' intended uint64 wrap-around warns
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered in scalar:RuntimeWarning")

ASCII = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=80)
# the characters the pattern treats specially, weighted up so contractions and space runs occur often
TRICKY = st.lists(st.sampled_from(list("'strevmld SLT \t\n\r\x0b\x0c\x1c09?!.-_") + ["'s", "'ll", "  "]),
                  max_size=40).map("".join)


def spans_of(docs):
    data, starts, ends = bpe.pretokenize_spans(docs)
    raw = data.tobytes()
    return [raw[a:b].decode("utf-8") for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]


def compiled_spans(docs):
    encoded = [d.encode() for d in docs]
    bounds = np.cumsum([0] + [len(e) for e in encoded]).astype(np.int64)
    data = np.frombuffer(b"".join(encoded), np.uint8)
    starts, ends = k._pretokenize_ascii(data, bounds[:-1], bounds[1:], bpe.ascii_classes())
    raw = data.tobytes()
    return [raw[a:b].decode() for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(ASCII, TRICKY), min_size=1, max_size=4))
def test_ascii_pretokenizer_equals_the_regex(docs):
    expected = [piece for d in docs for piece in bpe.pretokenize(d)]
    assert compiled_spans(docs) == expected


@pytest.mark.parametrize("text", ["don't  stop 'S'll's", "a  \n b", "x\n\n  y  ", "   ", " ?!x", "''s' 're", "a\x1cb",
                                  "1984 was 12ab", "end \t"])
def test_ascii_pretokenizer_hand_cases(text):
    assert compiled_spans([text]) == bpe.pretokenize(text)
    assert "".join(bpe.pretokenize(text)) == text


def test_pretokenize_spans_mixes_ascii_and_other_documents():
    docs = ["plain ascii 's", "héllo wörld 😀  x", "", "tail  "]
    assert spans_of(docs) == [p for d in docs for p in bpe.pretokenize(d)]


def test_pretokenize_ascii_refuses_non_ascii_bytes():
    with pytest.raises(ValueError, match="ASCII"):
        k.pretokenize_ascii(np.frombuffer("é".encode(), np.uint8), np.array([0]), np.array([2]), bpe.ascii_classes())
    data = np.frombuffer("ab é cd".encode(), np.uint8)  # the non-ASCII bytes outside the documents: fine
    starts, ends = k.pretokenize_ascii(data, np.array([0, 6]), np.array([3, 8]), bpe.ascii_classes())
    assert list(zip(starts.tolist(), ends.tolist(), strict=True)) == [(0, 2), (2, 3), (6, 8)]


def random_corpus(rng, n_words=3000, alphabet="abcde", zipf=1.3):
    """Words made of a few planted syllables, drawn with Zipf frequencies: pairs inside the frequent
    syllables dominate, and many counts tie."""
    syllables = ["".join(rng.choice(list(alphabet), size=rng.integers(1, 4))) for _ in range(12)]
    vocab = ["".join(rng.choice(syllables, size=rng.integers(1, 4))) for _ in range(200)]
    ids = np.minimum(rng.zipf(zipf, size=n_words) - 1, len(vocab) - 1)
    return " ".join(vocab[i] for i in ids) + " 'll x9 ?!"


def test_count_spans_equals_reference(rng):
    words = ["".join(rng.choice(list("abcdefgh"), size=rng.integers(1, 8))) for _ in range(6000)]
    text = " ".join(words + words[:2000])  # some words twice; > 2048 distinct ones, so the table grows
    data, starts, ends = bpe.pretokenize_spans([text])
    first, count = k._count_spans(data, starts, ends)  # the compiled path (plain Python with MINEMBED_JIT=0)
    ref_first, ref_count = k.count_spans_reference(data, starts, ends)
    np.testing.assert_array_equal(first, ref_first)
    np.testing.assert_array_equal(count, ref_count)
    assert count.sum() == len(starts) and len(first) > 2048 and count.max() > 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_incremental_trainers_equal_the_naive_one(seed):
    rng = np.random.default_rng(seed)
    words, counts = bpe.word_counts([random_corpus(rng, alphabet="abc" if seed == 2 else "abcde")])
    arrays = bpe._words_arrays(words, counts)
    n = 300  # more merges than pairs exist: all three must stop at the same point
    naive = bpe.train_naive(words, counts, n)
    ref = k.train_merges_reference(*arrays, n)
    ker = k._train_merges(*k._check_words(*arrays, n, 256))
    assert [tuple(m) for m in ref.tolist()] == naive
    np.testing.assert_array_equal(ker, ref)
    assert 20 < len(naive) < n


def test_classic_example_by_hand():
    # "aaabdaaabac": (a, a) occurs 4 times -> 256; then (256, a) and (a, b) tie at 2: the smaller pair
    # (97, 98) wins -> 257; then (256, 257) = "aaab" occurs twice -> 258.
    words, counts = [b"aaabdaaabac"], [1]
    expected = [(97, 97), (97, 98), (256, 257)]
    assert bpe.train_naive(words, counts, 3) == expected
    assert k.train_merges(*bpe._words_arrays(words, counts), 3).tolist() == [list(m) for m in expected]


def test_tie_break_is_the_smaller_pair_not_the_first_seen():
    # "ba" and "ab" each occur once per word; whatever order the words come in, (97, 98) = "ab" wins
    for words in ([b"ba", b"ab"], [b"ab", b"ba"]):
        assert bpe.train_naive(words, [1, 1], 1) == [(97, 98)]
        assert k.train_merges(*bpe._words_arrays(words, [1, 1]), 1).tolist() == [[97, 98]]


def test_encode_kernel_equals_reference(rng):
    text = random_corpus(rng)
    words, counts = bpe.word_counts([text])
    merges = k.train_merges(*bpe._words_arrays(words, counts), 120)
    data, starts, ends = bpe.pretokenize_spans([text, random_corpus(np.random.default_rng(7))])  # + unseen text
    table = k.MergeTable(merges)
    ids, cum = k._encode_spans(data, starts, ends, *table.tables())
    ref_ids, ref_cum = k.encode_spans_reference(data, starts, ends, merges)
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_array_equal(cum, ref_cum)
    assert len(ids) < 0.75 * len(data)  # the merges compress


def test_bpe_word_reference_by_hand():
    ranks = {(97, 97): 256, (256, 97): 257}
    assert k.bpe_word_reference(b"aaa", ranks) == [257]       # (a a) a -> 256 a -> 257
    assert k.bpe_word_reference(b"aaaa", ranks) == [256, 256]  # left to right: (a a)(a a); no (256, 256) merge
    assert k.bpe_word_reference(b"b", ranks) == [98]


def test_merge_table_refuses_a_merge_of_a_later_token():
    with pytest.raises(ValueError, match="below first_id"):
        k.MergeTable(np.array([[97, 256]]))
