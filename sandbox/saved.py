"""A fake's state saved whole as bytes and put back, for the sandbox's database."""

from __future__ import annotations

import itertools
import pickle
import threading
from typing import Any, ClassVar


class SavedWhole:
    """Mixed into a fake that keeps its state in the attributes named by ``_SAVED``, guards
    them with ``_lock`` and numbers its objects with the counter ``_ids``."""

    _SAVED: ClassVar[tuple[str, ...]] = ()
    _lock: threading.RLock
    _ids: Any

    def snapshot(self) -> bytes:
        """The state at one consistent moment, for ``restore``."""
        with self._lock:
            state = {name: getattr(self, name) for name in self._SAVED}
            state["next_id"] = next(self._ids)
            return pickle.dumps(state)

    def restore(self, data: bytes) -> None:
        """Put back what ``snapshot`` saved (the sandbox's own file, so trusted)."""
        state = pickle.loads(data)
        with self._lock:
            self._ids = itertools.count(int(state.pop("next_id")))
            for name in self._SAVED:
                if name in state:
                    setattr(self, name, state[name])
            self._restored()

    def _restored(self) -> None:
        """Called under the lock once the state is back."""
