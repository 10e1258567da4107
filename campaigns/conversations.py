"""Where an entry point's conversations are kept: what archive counts and erase deletes.

`agent_desktop` keeps them (contacts, messages, their files), but `campaigns` may not import it
(imports run config ← campaigns ← agent_desktop ← channels). So agent_desktop registers its two
functions here in its `AppConfig.ready()`, as dotted paths like the kinds' hooks. A registry,
not a Django signal: exactly one store must answer, with numbers, and erasing with none
installed must fail loudly instead of deleting nothing.

- `count(entry_point) -> (contacts, messages)`
- `erase(*, entry_point) -> (contacts, messages)`: in the caller's transaction.
"""

from django.utils.module_loading import import_string

_store: dict[str, str] = {}


class NoConversationStore(LookupError):
    pass


def register(*, count: str, erase: str) -> None:
    _store.update(count=count, erase=erase)


def _hook(name):
    try:
        return import_string(_store[name])
    except KeyError:
        raise NoConversationStore("No app keeps conversations (agent_desktop?).") from None


def count(entry_point) -> tuple[int, int]:
    return _hook("count")(entry_point)


def erase(entry_point) -> tuple[int, int]:
    return _hook("erase")(entry_point=entry_point)
