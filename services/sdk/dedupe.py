"""Remember recently seen event ids so a redelivered event is handed to the user once."""

from collections import OrderedDict


class SeenEvents:
    """A bounded, insertion-ordered set of event ids (oldest forgotten first)."""

    def __init__(self, capacity: int = 1_000_000) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def first_time(self, event_id: str) -> bool:
        """True the first time an id is offered, False for every repeat still remembered."""
        if event_id in self._ids:
            return False
        self._ids[event_id] = None
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._ids)
