"""BPETokenizer: round trips, special tokens, files, bad input, and the same ids as tiktoken / HF tokenizers."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minembed.text import BPETokenizer, bpe

TRAIN = ("The quick brown fox jumps over the lazy dog. It's 2024; don't panic!\n"
         "Die Straße ist naß — café, naïve, 東京, Привет мир 😀😀 ...\n") * 40


@pytest.fixture(scope="module")
def tok():
    return BPETokenizer.train(TRAIN, vocab_size=420, special_tokens=["[PAD]", "[CLS]", "[SEP]", "[MASK]"])


def test_vocabulary_layout(tok):
    import minembed as me

    assert me.BPETokenizer is BPETokenizer
    # TRAIN has few distinct words: training ran out of pairs before 420 (every word is one token)
    n = 256 + len(tok.merges)
    assert tok.vocab_size == n + 4 < 420
    assert all(len(tok.encode(w)) == 1 for w in bpe.pretokenize(TRAIN))
    assert tok.special_tokens == {"[PAD]": n, "[CLS]": n + 1, "[SEP]": n + 2, "[MASK]": n + 3}
    assert (tok.pad_id, tok.cls_id, tok.sep_id, tok.mask_id) == (n, n + 1, n + 2, n + 3)
    assert tok.token_bytes(ord("a")) == b"a"
    with pytest.raises(ValueError, match=r"no unk token.*\[UNK\]"):
        _ = tok.unk_id
    # every token's bytes are its two parts', and no two tokens share bytes
    for k, (a, b) in enumerate(tok.merges):
        assert tok.token_bytes(256 + k) == tok.token_bytes(a) + tok.token_bytes(b)
    assert len({tok.token_bytes(i) for i in range(256 + len(tok.merges))}) == 256 + len(tok.merges)


def test_frequent_words_become_single_tokens(tok):
    ids = tok.encode(" quick brown fox")
    assert len(ids) == 3
    assert [tok.id_to_token(i) for i in ids] == [" quick", " brown", " fox"]
    assert tok.token_to_id(" fox") == ids[2]
    unseen = tok.encode(" zyzzyva")  # never seen: falls apart into bytes and small pieces, still encodable
    assert len(unseen) >= 4 and tok.decode(unseen) == " zyzzyva"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_round_trip_on_any_unicode(tok, text):
    ids = tok.encode(text, special=False)
    assert ids.dtype == np.int32
    assert tok.decode(ids) == text
    assert tok.decode_bytes(ids) == text.encode("utf-8", errors="surrogatepass")


def test_round_trip_of_surrogate_free_batch(tok):
    texts = ["", "a", "  leading and trailing  ", "tabs\tand\nnewlines\n\n", "東京 😀", "[PAD]x[MASK]"]
    batch = tok.encode_batch(texts)
    assert [tok.decode(ids) for ids in batch] == texts
    for text, ids in zip(texts, batch, strict=True):
        np.testing.assert_array_equal(ids, tok.encode(text))


def test_special_tokens_are_kept_whole(tok):
    ids = tok.encode("[CLS] fox[SEP][PAD][PAD]")
    assert ids[0] == tok.cls_id and list(ids[-3:]) == [tok.sep_id, tok.pad_id, tok.pad_id]
    assert tok.decode(ids) == "[CLS] fox[SEP][PAD][PAD]"
    plain = tok.encode("[PAD]", special=False)  # as ordinary text: bytes and merges, no special id
    assert tok.pad_id not in plain and tok.decode(plain) == "[PAD]"


def test_special_tokens_are_not_learned_from():
    text = "[SEP]" * 500 + " ab ab"
    tok = BPETokenizer.train(text, vocab_size=270, special_tokens=["[SEP]"])
    assert all(b"SEP" not in tok.token_bytes(256 + k) for k in range(len(tok.merges)))


def test_fast_and_naive_training_agree():
    for size in (300, 1000):  # 1000: both run out of pairs at the same point
        fast = BPETokenizer.train(TRAIN, vocab_size=size)
        naive = BPETokenizer.train(TRAIN, vocab_size=size, method="naive")
        assert fast.merges == naive.merges and len(fast.merges) == min(size - 256, len(naive.merges))


def test_corpus_as_documents_or_file(tmp_path):
    lines = TRAIN.splitlines(keepends=True)
    path = tmp_path / "corpus.txt"
    path.write_text(TRAIN, encoding="utf-8")
    from_text = BPETokenizer.train(TRAIN, 330)
    assert BPETokenizer.train(path, 330).merges == from_text.merges
    # each line a document: same pre-tokens here (lines end in "\n" after a non-space), so the same merges
    assert BPETokenizer.train(lines, 330).merges == from_text.merges


def test_save_load_round_trip(tok, tmp_path):
    path = tmp_path / "tok.json"
    tok.save(path)
    data = json.loads(path.read_text())
    assert data["format"] == "minembed-bpe" and data["pattern"] == bpe.GPT2_PATTERN
    back = BPETokenizer.load(path)
    assert back.merges == tok.merges and back.special_tokens == tok.special_tokens
    np.testing.assert_array_equal(back.encode(TRAIN[:500] + "[MASK]"), tok.encode(TRAIN[:500] + "[MASK]"))


# ------------------------------------------------------------------------------------------ bad input
def test_empty_training_text_names_the_numbers():
    with pytest.raises(ValueError, match=r"empty \(1 document\(s\), 0 characters\)"):
        BPETokenizer.train("", 300)
    with pytest.raises(ValueError, match=r"empty \(3 document\(s\)"):
        BPETokenizer.train(["", "", ""], 300)
    with pytest.raises(ValueError, match="empty"):
        BPETokenizer.train("[PAD][PAD]", 300, special_tokens=["[PAD]"])  # only special tokens: nothing to learn


def test_vocab_size_below_bytes_and_specials_names_the_numbers():
    with pytest.raises(ValueError, match=r"vocab_size=257 is below the 256 byte tokens \+ 2 special tokens = 258"):
        BPETokenizer.train(TRAIN, 257, special_tokens=["[PAD]", "[MASK]"])
    with pytest.raises(ValueError, match=r"vocab_size=100 is below .* = 256"):
        BPETokenizer.train(TRAIN, 100)
    assert BPETokenizer.train(TRAIN, 256).vocab_size == 256  # no merges: bytes only, still valid


def test_decode_names_a_bad_id_and_its_position(tok):
    v = tok.vocab_size
    with pytest.raises(ValueError, match=rf"id {v} at position 2 is outside the vocabulary \(valid ids: 0..{v - 1}\)"):
        tok.decode([97, 98, v, 5])
    with pytest.raises(ValueError, match=r"id -1 at position 0"):
        tok.decode(np.array([-1]))
    with pytest.raises(TypeError, match="integers"):
        tok.decode([1.5])


def test_load_names_a_file_of_another_format(tmp_path, tok):
    not_json = tmp_path / "vectors.bin"
    not_json.write_bytes(b"\x00\x01binary")
    with pytest.raises(ValueError, match=r"vectors.bin is not a minembed BPE tokenizer file"):
        BPETokenizer.load(not_json)
    other = tmp_path / "config.json"
    other.write_text('{"hidden_size": 768}')
    with pytest.raises(ValueError, match=r"config.json is not a minembed BPE tokenizer file: no \"format\""):
        BPETokenizer.load(other)
    hf = tmp_path / "tokenizer.json"
    tok.save_huggingface(hf)
    with pytest.raises(ValueError, match=r"tokenizer.json .* Hugging Face"):
        BPETokenizer.load(hf)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({**tok.to_dict(), "merges": [[97, 300]]}))
    with pytest.raises(ValueError, match=r"broken.json is not a valid .* merge 0 \(97, 300\)"):
        BPETokenizer.load(broken)
    with pytest.raises(FileNotFoundError, match="missing.json"):
        BPETokenizer.load(tmp_path / "missing.json")


def test_other_bad_arguments():
    with pytest.raises(ValueError, match="given twice"):
        BPETokenizer.train(TRAIN, 300, special_tokens=["[PAD]", "[PAD]"])
    with pytest.raises(TypeError, match="document 1 of the corpus is a int"):
        BPETokenizer.train(["ok", 5], 300)
    with pytest.raises(ValueError, match="method"):
        BPETokenizer.train(TRAIN, 300, method="slow")


def test_file_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("fine\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1.txt: line 2 is not valid UTF-8"):
        BPETokenizer.train(path, 300)


# --------------------------------------------------------------------------- the peers as oracles
CHECK = ("Some held-out text: the lazy fox's dog jumped 12345 times!!  Über naïve café 東京 😀\n\n"
         "  indented line\twith tab [MASK] and [PAD] in it, and an unseen wörd zyzzyva.\n")


def test_huggingface_tokenizers_gives_identical_ids(tok, tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    path = tmp_path / "tokenizer.json"
    tok.save_huggingface(path)
    hf = tokenizers.Tokenizer.from_file(str(path))
    for text in (CHECK, TRAIN[:3000]):
        assert hf.encode(text).ids == tok.encode(text).tolist()


def test_tiktoken_gives_identical_ids(tok, tmp_path):
    tiktoken = pytest.importorskip("tiktoken")
    from tiktoken.load import load_tiktoken_bpe

    path = tmp_path / "tok.tiktoken"
    tok.save_tiktoken(path)
    enc = tiktoken.Encoding("minembed-test", pat_str=bpe.GPT2_PATTERN, mergeable_ranks=load_tiktoken_bpe(str(path)),
                            special_tokens=tok.special_tokens)
    for text in (CHECK, TRAIN[:3000]):
        assert enc.encode(text, allowed_special="all") == tok.encode(text).tolist()


def test_compression_close_to_huggingface_training(tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import decoders, models, pre_tokenizers, trainers

    rng = np.random.default_rng(0)
    words = ["".join(rng.choice(list("etaoinshrdlu"), size=rng.integers(2, 9))) for _ in range(400)]
    text = " ".join(words[i] for i in np.minimum(rng.zipf(1.2, 20000) - 1, 399))
    ours = BPETokenizer.train(text, 600)
    hf = tokenizers.Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    hf.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    hf.train_from_iterator([text], trainer)
    n_ours, n_hf = len(ours.encode(text)), len(hf.encode(text).ids)
    assert abs(n_ours / n_hf - 1) < 0.01


@pytest.mark.shared
def test_bench_slice_identical_to_huggingface(shared_data):
    tokenizers = pytest.importorskip("tokenizers")
    text = (shared_data / "corpus" / "bench.txt").read_text(encoding="utf-8")[:2_000_000]
    tok = BPETokenizer.train(text[:1_000_000], 2000)
    hf = tokenizers.Tokenizer.from_str(json.dumps(tok.to_huggingface()))
    held_out = text[1_000_000:]
    assert hf.encode(held_out).ids == tok.encode(held_out).tolist()


def test_byte_level_alphabet_is_gpt2s():
    sym = bpe.byte_level_alphabet()
    assert sym[ord(" ")] == "Ġ" and sym[ord("\n")] == "Ċ" and sym[ord("a")] == "a" and len(set(sym)) == 256
