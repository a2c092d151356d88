"""Which files to import when given a folder, an eval set's listing, or several files at once.

An Inspect eval-set folder holds one log per task × model, `logs.json` (a header per member log,
keyed by file name) and `eval-set.json` (the set's id and its tasks). riskreg reads the two listings
to know the members: the logs `logs.json` names are imported, and a member it names that is missing,
or a task of `eval-set.json` with no log, is reported. A folder without `logs.json` is every
`.eval`/`.json` log in it.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .inspect import LISTING_NAMES, EvalSetListing, InspectLogError, RequestBudget, read_listing

LOG_SUFFIXES = {".eval", ".json"}


@dataclass
class Collected:
    files: list[Path] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)  # (name, why it is not imported)
    notes: list[str] = field(default_factory=list)
    listing: EvalSetListing | None = None


def is_listing(name: str) -> bool:
    return Path(name).name in LISTING_NAMES


def listing_of(files: Mapping[str, IO[bytes]], budget: RequestBudget | None = None) -> EvalSetListing | None:
    """The eval-set listing read from uploaded `logs.json` / `eval-set.json` files (name → file), drawing on
    the request's `budget` of JSON values."""
    listing = None
    for name, handle in files.items():
        if is_listing(name):
            listing = listing or EvalSetListing()
            handle.seek(0)
            read_listing(handle, Path(name).name, listing, budget)
    return listing


def check_members(listing: EvalSetListing, log_names: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """Members the listing names that are not among `log_names`, and tasks with no log."""
    present = {Path(name).name for name in log_names}
    missing = [(name, "listed in logs.json but not given") for name in listing.log_names if name not in present]
    notes = [
        f"eval-set.json lists task {task['name'] or task['task_id']} (task id {task['task_id']}) but no log of it "
        "was given."
        for task in listing.tasks
        if task["task_id"] and not any(task["task_id"] in name for name in present)
    ]
    return missing, notes


def _plain_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and name not in (".", "..") and "\x00" not in name


def _folder(folder: Path, collected: Collected) -> None:
    listing = EvalSetListing()
    read_any = False
    for name in sorted(LISTING_NAMES):
        path = folder / name
        if path.is_file():
            with path.open("rb") as handle:
                read_listing(handle, name, listing)
            read_any = True
    if listing.log_names:
        # A member is a file of this folder: a listed name with a path in it (../, /etc/…) is refused.
        unsafe = [name for name in listing.log_names if not _plain_name(name)]
        collected.missing += [(name, "listed in logs.json with a path; only files of the eval-set folder are read")
                              for name in unsafe]  # fmt: skip
        members = [folder / name for name in listing.log_names if _plain_name(name)]
        present = [path for path in members if path.is_file()]
        collected.missing += [(str(path), "listed in logs.json but not in the folder")
                              for path in members if not path.is_file()]  # fmt: skip
    else:
        present = sorted(
            path for path in folder.iterdir()
            if path.is_file() and path.suffix.lower() in LOG_SUFFIXES and not is_listing(path.name)
            and not path.name.startswith(".")
        )  # fmt: skip
    if read_any:
        collected.listing = listing
        _, notes = check_members(listing, [path.name for path in present])
        collected.notes += notes
        if listing.eval_set_id:
            collected.notes.append(f"Eval set {listing.eval_set_id}: {len(present)} log(s) in {folder}.")
    collected.files += [path for path in present if path not in collected.files]


def collect(paths: list[str]) -> Collected:
    """The log files to import for the command line's arguments: files, folders, or listings."""
    collected = Collected()
    for raw in paths:
        path = Path(raw)
        try:
            if path.is_dir():
                _folder(path, collected)
            elif is_listing(path.name) and path.is_file():
                _folder(path.parent, collected)
            else:
                collected.files.append(path)  # a file given twice is imported, then skipped
        except InspectLogError as error:
            collected.missing.append((raw, str(error)))
        except OSError as error:
            collected.missing.append((raw, f"cannot be read ({error.strerror or error})"))
    return collected
