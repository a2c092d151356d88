"""How many imports run at once: per user, and in all, across every worker process (issue 27).

Reading a log is bounded in work (inspect.py), but a bounded import still holds a server thread for
its time; eight at once through one evaluator's token held every gunicorn thread (2 workers x 4)
and the log-in page timed out. Each import (the API, the browser's preview and its confirmation)
takes a slot of its user's (`IMPORT_MAX_CONCURRENT_PER_USER`, 1 by default) and one of all
(`IMPORT_MAX_CONCURRENT`, 2 by default, so that most threads are always free for everything else),
or is refused at once, naming the limit (HTTP 429 with Retry-After): it never waits for a slot,
which would hold the thread all the same. A limit of 0 switches it off.

The slots are locks every process sees. On PostgreSQL, session advisory locks
(`pg_try_advisory_lock`): the server drops them if the process dies or its connection breaks, so a
crash never keeps a slot. Elsewhere (SQLite: one host), `flock` on files in a folder named by the
database; the kernel drops those when the process dies. An in-memory SQLite database lives in one
process, so its slots do too.
"""

import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db import DatabaseError, connection

RETRY_AFTER = 30  # seconds: what a refused client is told to wait


class ImportBusy(Exception):
    """No slot is free; the message names the limit."""


class _Slot:
    def release(self) -> None:
        raise NotImplementedError


class _AdvisoryLock(_Slot):
    def __init__(self, key: int) -> None:
        self.key = key

    def release(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [self.key])
        except DatabaseError:  # the session is unusable: closing it drops every lock it holds
            connection.close()


class _FileLock(_Slot):
    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle

    def release(self) -> None:
        self.handle.close()  # closing the file drops its flock


def _key(name: str) -> int:
    """A signed 64-bit advisory-lock key for a slot's name."""
    return int.from_bytes(hashlib.blake2b(f"riskreg-import:{name}".encode(), digest_size=8).digest(), "big",
                          signed=True)  # fmt: skip


def _folder() -> Path:
    database = str(connection.settings_dict["NAME"])
    if connection.vendor == "sqlite" and connection.is_in_memory_db():  # type: ignore[attr-defined]
        database += f":{os.getpid()}"  # a database of this process alone
    else:
        database = os.path.abspath(database)
    digest = hashlib.blake2b(database.encode(), digest_size=8).hexdigest()
    folder = Path(tempfile.gettempdir()) / f"riskreg-import-slots-{digest}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _take_one(name: str) -> _Slot | None:
    if connection.vendor == "postgresql":
        key = _key(name)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            taken = cursor.fetchone()[0]
        return _AdvisoryLock(key) if taken else None
    handle = (_folder() / hashlib.blake2b(name.encode(), digest_size=8).hexdigest()).open("ab")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return _FileLock(handle)


def _take(name: str, limit: int) -> _Slot | None:
    """One of `limit` slots called `name`, or None if all are taken."""
    for number in range(limit):
        slot = _take_one(f"{name}:{number}")
        if slot is not None:
            return slot
    return None


@contextmanager
def import_slot(user) -> Iterator[None]:
    """Hold one of the user's import slots and one of all while the block runs; ImportBusy if none is free.

    Taken and released outside any transaction (the callers run outside ATOMIC_REQUESTS), so that a
    failed statement never leaves the release unable to run.
    """
    held: list[_Slot] = []
    try:
        per_user, in_all = settings.IMPORT_MAX_CONCURRENT_PER_USER, settings.IMPORT_MAX_CONCURRENT
        if per_user > 0:
            slot = _take(f"user:{user.pk}", per_user)
            if slot is None:
                raise ImportBusy(
                    f"You have {per_user} import{'s' if per_user > 1 else ''} running already "
                    f"(IMPORT_MAX_CONCURRENT_PER_USER = {per_user}); nothing was read or written. Send this "
                    f"again when {'one' if per_user > 1 else 'it'} has finished."
                )
            held.append(slot)
        if in_all > 0:
            slot = _take("all", in_all)
            if slot is None:
                raise ImportBusy(
                    f"{in_all} imports are running already, the most the server runs at once "
                    f"(IMPORT_MAX_CONCURRENT = {in_all}); nothing was read or written. Send this again in a "
                    "minute."
                )
            held.append(slot)
        yield
    finally:
        for slot in reversed(held):
            slot.release()
