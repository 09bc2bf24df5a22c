"""Sound clips: real recordings from installed packages (never copied into this repository), a folder of
sound files given by path, or synthetic signals with planted classes.

Recordings (install once; :func:`load_audio` finds them where the packages put them):

* ``"digits"`` / ``"letters"``: Debian's ``asterisk-core-sounds-{en,fr,it,ru,es}-wav`` (CC BY-SA 3.0),
  studio recordings of telephone prompts at 8 kHz, the word in each file name. ``digits`` = 0-9 spoken
  in each installed language (one voice per package: en and es are both "Allison", fr "June", it
  "Carlo", ru "IvrvoiceRU"); ``letters`` = a-z. Installed under ``/usr/share/asterisk/sounds/<lang>/``
  (``MINEMBED_ASTERISK_SOUNDS`` points elsewhere)::

      sudo apt-get install asterisk-core-sounds-en-wav asterisk-core-sounds-fr-wav \\
          asterisk-core-sounds-it-wav asterisk-core-sounds-ru-wav asterisk-core-sounds-es-wav

* ``"sounds"``: the npm package ``supersonic-scsynth-samples`` (CC0, Sonic Pi's 207 samples: drums, hats,
  tabla, bass, ambient, ...; mostly 44.1 kHz FLAC), labelled by the prefix of the file name
  (``bd_haus.flac`` -> ``bd``). Reading FLAC needs ``soundfile`` (``pip install 'minembed[audio]'``)::

      npm install --prefix ~/.cache/minembed supersonic-scsynth-samples

  It is looked for under ``MINEMBED_AUDIO_SAMPLES``, ``~/.cache/minembed``, ``./node_modules`` and the
  global npm folders.

* ``"synthetic"``: generated tones, chirps, clicks and noise bursts (six planted classes), labelled
  synthetic: for tests, and for lessons on a machine without the recordings.

Every clip is read as mono float32 (stereo mixed down) and resampled to one rate ``sr``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..rng import make_rng

ASTERISK_LANGUAGES = ("en", "fr", "it", "ru", "es")
ASTERISK_ROOT = Path("/usr/share/asterisk/sounds")
SAMPLES_PACKAGE = "supersonic-scsynth-samples"
SOUND_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif")
SYNTHETIC_CLASSES = ("low_tone", "high_tone", "chirp_up", "chirp_down", "clicks", "noise")
LETTERS = tuple("abcdefghijklmnopqrstuvwxyz")

APT_HINT = ("sudo apt-get install " + " ".join(f"asterisk-core-sounds-{lang}-wav" for lang in ASTERISK_LANGUAGES))
NPM_HINT = f"npm install --prefix ~/.cache/minembed {SAMPLES_PACKAGE}"


@dataclass
class AudioSet:
    """Clips of different lengths at one sample rate, with a label and a group (language or source) each.

    ``clips[i]`` is float32 (n_i,); ``labels[i]`` the class (``"7"``, ``"b"``, ``"tabla"``);
    ``groups[i]`` the voice/language (``"en"``) or source (``"sounds"``, ``"synthetic"``);
    ``paths[i]`` the file it came from (None for synthetic clips). ``synthetic`` says whether the
    clips are generated signals rather than recordings.
    """

    clips: list
    labels: list
    groups: list
    sr: int
    paths: list = field(default_factory=list)
    synthetic: bool = False

    def __len__(self) -> int:
        return len(self.clips)

    @property
    def classes(self) -> list[str]:
        """The distinct labels, sorted."""
        return sorted(set(self.labels))

    def label_ids(self) -> np.ndarray:
        """(N,) int64: each clip's label as its position in :attr:`classes`."""
        index = {c: i for i, c in enumerate(self.classes)}
        return np.array([index[lab] for lab in self.labels], dtype=np.int64)

    def names(self) -> list[str]:
        """A readable, unique key per clip: ``en/7`` for the asterisk words, the file's path below the folder
        for a folder (``kick/bd_01``), the file's stem for the samples, ``low_tone_3`` for synthetic clips."""
        out = []
        for i, (group, label) in enumerate(zip(self.groups, self.labels, strict=True)):
            path = self.paths[i] if self.paths else None
            if group in ASTERISK_LANGUAGES:
                out.append(f"{group}/{label}")
            elif path is None:
                out.append(f"{label}_{i}")
            else:
                stem = Path(path).stem
                out.append(stem if group in (".", "sounds") else f"{group}/{stem}")
        return out

    def fixed_length(self, n_samples: int) -> np.ndarray:
        """Every clip cut or zero-padded (at the end) to ``n_samples``: (N, n_samples) float32."""
        out = np.zeros((len(self), int(n_samples)), np.float32)
        for i, c in enumerate(self.clips):
            out[i, :min(len(c), n_samples)] = c[:n_samples]
        return out

    def subset(self, keep) -> AudioSet:
        """The clips at the positions ``keep`` (ids or a boolean mask), as a new AudioSet."""
        ids = np.flatnonzero(keep) if np.asarray(keep).dtype == bool else np.asarray(keep, dtype=np.int64)
        def pick(xs):
            return [xs[i] for i in ids]

        return AudioSet(pick(self.clips), pick(self.labels), pick(self.groups), self.sr,
                        pick(self.paths) if self.paths else [], self.synthetic)


# --------------------------------------------------------------------------------- finding
def asterisk_root() -> Path:
    """Where Debian's asterisk sound packages are read from: ``$MINEMBED_ASTERISK_SOUNDS``, else ``ASTERISK_ROOT``."""
    return Path(os.environ.get("MINEMBED_ASTERISK_SOUNDS", ASTERISK_ROOT))


def samples_folder() -> Path | None:
    """The ``samples/`` folder of the installed npm package, or None."""
    candidates = []
    if os.environ.get("MINEMBED_AUDIO_SAMPLES"):
        candidates.append(Path(os.environ["MINEMBED_AUDIO_SAMPLES"]))
    for prefix in (Path.home() / ".cache" / "minembed", Path.cwd(), Path("/usr/local/lib"), Path("/usr/lib")):
        candidates.append(prefix / "node_modules" / SAMPLES_PACKAGE / "samples")
    for c in candidates:
        if c.name != "samples" and (c / "samples").is_dir():
            c = c / "samples"
        if c.is_dir() and any(p.suffix.lower() in SOUND_SUFFIXES for p in c.iterdir()):
            return c
    return None


def available(name: str) -> bool:
    """Whether :func:`load_audio` can load ``name`` here: ``"digits"``, ``"letters"``, ``"sounds"``, ``"synthetic"``."""
    if name == "synthetic":
        return True
    if name in ("digits", "letters"):
        folder = "digits" if name == "digits" else "letters"
        return any((asterisk_root() / lang / folder / ("1.wav" if name == "digits" else "a.wav")).is_file()
                   for lang in ASTERISK_LANGUAGES)
    if name == "sounds":
        return samples_folder() is not None
    raise ValueError(f"unknown audio data set {name!r}; known: 'digits', 'letters', 'sounds', 'synthetic'")


# --------------------------------------------------------------------------------- loading
def _read(paths, sr: int, max_seconds: float | None) -> list[np.ndarray]:
    from ..audio.io import read_audio  # datasets -> audio, never the other way round
    from ..audio.resample import resample

    clips = []
    for p in paths:
        x, rate = read_audio(p, max_seconds)
        clips.append(resample(x, rate, sr) if rate != sr else x)
    return clips


def _asterisk(kind: str, sr: int, languages, max_seconds) -> AudioSet:
    root = asterisk_root()
    languages = ASTERISK_LANGUAGES if languages is None else tuple(languages)
    unknown = [lang for lang in languages if lang not in ASTERISK_LANGUAGES]
    if unknown:
        raise ValueError(f"unknown language(s) {unknown}; the asterisk packages have {ASTERISK_LANGUAGES}")
    words = [str(d) for d in range(10)] if kind == "digits" else list(LETTERS)
    paths, labels, groups = [], [], []
    for lang in languages:
        folder = root / lang / kind
        for w in words:
            if (folder / f"{w}.wav").is_file():
                paths.append(folder / f"{w}.wav")
                labels.append(w)
                groups.append(lang)
    if not paths:
        raise FileNotFoundError(
            f"no spoken {kind} found under {root}/{{{','.join(languages)}}}/{kind}/ : they come from Debian's "
            f"asterisk sound packages; install them with\n    {APT_HINT}\n"
            "(or set MINEMBED_ASTERISK_SOUNDS, or pass a folder of WAV/FLAC files to load_audio)")
    return AudioSet(_read(paths, sr, max_seconds), labels, groups, sr, paths)


def _samples(sr: int, max_seconds) -> AudioSet:
    folder = samples_folder()
    if folder is None:
        raise FileNotFoundError(
            f"the sound samples (npm package {SAMPLES_PACKAGE}, CC0) are not installed; install them with\n"
            f"    {NPM_HINT}\n(and pip install soundfile to read FLAC), or set MINEMBED_AUDIO_SAMPLES to its "
            "samples/ folder")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in SOUND_SUFFIXES)
    labels = [p.stem.split("_")[0] for p in paths]
    return AudioSet(_read(paths, sr, max_seconds), labels, ["sounds"] * len(paths), sr, paths)


def _folder(root: Path, sr: int, max_seconds, labels_from: str) -> AudioSet:
    paths = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SOUND_SUFFIXES)
    if not paths:
        raise FileNotFoundError(f"no sound files ({', '.join(SOUND_SUFFIXES)}) in {str(root)!r}")
    if labels_from == "auto":
        labels_from = "folder" if any(p.parent != root for p in paths) else "stem"
    if labels_from == "folder":
        labels = [p.parent.name if p.parent != root else "" for p in paths]
    elif labels_from == "prefix":
        labels = [p.stem.split("_")[0].split("-")[0] for p in paths]
    elif labels_from == "stem":
        labels = [p.stem for p in paths]
    else:
        raise ValueError(f"labels_from must be 'auto', 'folder', 'prefix' or 'stem', got {labels_from!r}")
    groups = [str(p.parent.relative_to(root)) for p in paths]
    return AudioSet(_read(paths, sr, max_seconds), labels, groups, sr, paths)


def synthetic_sounds(n_per_class: int = 10, sr: int = 8000, seconds: float = 0.8, rng=None,
                     seed=None) -> AudioSet:
    """Six planted classes of generated sounds (:data:`SYNTHETIC_CLASSES`), ``n_per_class`` each, all
    ``seconds`` long, each with a random pitch/rate, loudness, onset and a little noise:

    ``low_tone`` (200-400 Hz with two harmonics), ``high_tone`` (1.2-2 kHz), ``chirp_up`` / ``chirp_down``
    (a sweep between ~300 Hz and ~3 kHz), ``clicks`` (a click train, 6-14 per second), ``noise`` (a
    burst of white noise). Not recordings: the AudioSet says ``synthetic=True``.
    """
    gen = make_rng(rng, seed)
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    nyq = sr / 2
    clips, labels = [], []
    for label in SYNTHETIC_CLASSES:
        for _ in range(n_per_class):
            length = int(n * gen.uniform(0.5, 0.8))
            onset = int(gen.integers(0, n - length + 1))
            tt = t[:length]
            if label in ("low_tone", "high_tone"):
                f0 = gen.uniform(200, 400) if label == "low_tone" else gen.uniform(1200, min(2000, 0.45 * nyq))
                s = sum(np.sin(2 * np.pi * k * f0 * tt) / k for k in (1, 2, 3) if k * f0 < 0.9 * nyq)
            elif label.startswith("chirp"):
                lo, hi = gen.uniform(250, 400), min(gen.uniform(2500, 3200), 0.8 * nyq)
                f_start, f_end = (lo, hi) if label == "chirp_up" else (hi, lo)
                dur = tt[-1] if length > 1 else 1.0
                s = np.sin(2 * np.pi * (f_start * tt + (f_end - f_start) * tt ** 2 / (2 * dur)))
            elif label == "clicks":
                s = np.zeros(length)
                period = int(sr / gen.uniform(6, 14))
                s[::period] = 1.0
                s[1::period] = -0.5
            else:
                s = gen.standard_normal(length) * 0.5
            env = np.minimum(1.0, np.minimum(np.arange(length), np.arange(length)[::-1]) / (0.01 * sr))
            clip = np.zeros(n)
            clip[onset:onset + length] = gen.uniform(0.2, 0.8) * s * env / max(1e-9, np.abs(s).max())
            clip += 0.003 * gen.standard_normal(n)
            clips.append(clip.astype(np.float32))
            labels.append(label)
    return AudioSet(clips, labels, ["synthetic"] * len(clips), sr, [None] * len(clips), synthetic=True)


def load_audio(name_or_path="digits", sr: int = 8000, languages=None, max_seconds: float | None = None,
               labels_from: str = "auto", seed: int = 0) -> AudioSet:
    """Sound clips as an :class:`AudioSet`, every clip mono float32 at ``sr`` Hz.

    ``name_or_path``: ``"digits"`` (0-9 in each of ``languages``, default every installed one of
    en/fr/it/ru/es), ``"letters"`` (a-z), ``"sounds"`` (the CC0 samples, label = file-name prefix),
    ``"synthetic"`` (:func:`synthetic_sounds`, seeded by ``seed``), or a folder: every
    .wav/.flac/.ogg/.aiff below it, labelled by ``labels_from`` (``"auto"``: the sub-folder's name when
    there are sub-folders, else the file's stem; ``"prefix"``: the stem up to the first ``_`` or ``-``).
    ``max_seconds`` keeps only the start of long clips (before resampling).

    ``FileNotFoundError`` with the exact install command when the packages are not installed;
    ``ValueError`` naming the file for one that cannot be read.
    """
    from ..audio.resample import _check_rate

    sr = _check_rate(sr, "sr")
    if max_seconds is not None and not max_seconds > 0:
        raise ValueError(f"max_seconds must be > 0 or None, got {max_seconds!r}")
    if isinstance(name_or_path, str) and name_or_path in ("digits", "letters"):
        return _asterisk(name_or_path, sr, languages, max_seconds)
    if isinstance(name_or_path, str) and name_or_path == "sounds":
        return _samples(sr, max_seconds)
    if isinstance(name_or_path, str) and name_or_path == "synthetic":
        return synthetic_sounds(sr=sr, seed=seed)
    root = Path(name_or_path)
    if not root.exists():
        raise FileNotFoundError(f"{str(root)!r} is neither a folder nor a known data set ('digits', 'letters', "
                                "'sounds', 'synthetic')")
    if root.is_file():
        raise NotADirectoryError(f"{str(root)!r} is a file; load_audio takes a folder (read one file with "
                                 "minembed.audio.read_audio)")
    return _folder(root, sr, max_seconds, labels_from)
