"""Small bundled samples and loaders for full-size files given by path (and sounds from installed packages)."""
from .audio import AudioSet, load_audio, synthetic_sounds
from .corpus import SAMPLE_SOURCES, Corpus, load_corpus, load_sources
from .images import load_mnist
from .ratings import Ratings, load_movielens_100k, load_ratings, make_low_rank_ratings

__all__ = ["Corpus", "load_corpus", "load_sources", "SAMPLE_SOURCES", "load_mnist", "load_audio", "AudioSet",
           "synthetic_sounds", "Ratings", "load_movielens_100k", "load_ratings", "make_low_rank_ratings"]
