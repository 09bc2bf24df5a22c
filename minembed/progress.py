"""Progress bars: tqdm when it is installed and wanted, otherwise a silent pass-through."""
from __future__ import annotations


class _Silent:
    """The part of tqdm's interface minembed uses, doing nothing."""

    def __init__(self, iterable=None, **_):
        self.iterable = iterable

    def __iter__(self):
        return iter(self.iterable)

    def update(self, n=1):
        pass

    def set_postfix(self, *args, **kwargs):
        pass

    def set_postfix_str(self, *args, **kwargs):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def progress(iterable=None, *, enabled: bool = True, **tqdm_kwargs):
    """``tqdm(iterable, **tqdm_kwargs)`` if ``enabled`` and tqdm is importable, else a no-op bar."""
    if enabled:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            pass
        else:
            return tqdm(iterable, **tqdm_kwargs)
    return _Silent(iterable)
