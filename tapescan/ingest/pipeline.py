"""`ingest`: vendor files into the store, every row accounted for (docs/INGEST.md).

1. Discover the files (folders and zip archives expanded) and inspect each one's name and first lines;
   anything that is not the named vendor's format, or would mix price adjustments, stops the run before
   anything is written.
2. Phase 1 (stage.py), in `workers` processes: parse, check and spill the rows by session.
3. Phase 2 (merge.py): per session, settle duplicates across files and write; one commit per month.
4. Write the quarantine files and the JSON report into the store.

The staging folder lives in the store (`.staging/`) and is removed at the end; one left by a killed run is
removed by the next. Only one ingest runs per store at a time. A missing store is created only once every
file has been inspected, and removed again if the run fails before its first commit: an ingest refused
before any row is stored leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed, wait
from multiprocessing import get_context
from pathlib import Path

from tapescan import calendar
from tapescan.errors import IngestError
from tapescan.ingest.fastparse import ISO_DATETIME, parse_fixed
from tapescan.ingest.merge import merge_into_store
from tapescan.ingest.quarantine import read_staged_quarantine, write_quarantine
from tapescan.ingest.report import IngestReport, SourceCounts
from tapescan.ingest.sources import DATA_SUFFIXES, PARQUET_SUFFIXES, Discovery, Source, discover
from tapescan.ingest.stage import StageResult, StageTask, stage, staged_date
from tapescan.ingest.vendors import VENDORS, FileInfo, IngestOptions, inspect, read_head
from tapescan.store import Store
from tapescan.store.info import REPORTS_FOLDER
from tapescan.store.integrity import check_content
from tapescan.store.lock import writer_lock
from tapescan.store.manifest import load_manifest

#: Rows a worker buffers before spilling (about 70 bytes each in memory).
BUDGET_ROWS = 1_500_000
TASK_BYTES = (8 << 20, 64 << 20)  # a task reads between these many bytes of files (fewer when few)
INSPECT_CHUNK = 64  # files inspected per worker call
STAGING_FOLDER = ".staging"
INGEST_LOCK = ".ingest.lock"

#: progress(phase, done, total, rows): phase "inspect" counts files, "read" bytes, "write" sessions.
Progress = Callable[[str, int, int, int], None]


def ingest(
    store: str | Path,
    vendor: str,
    paths: Iterable[str | Path],
    *,
    options: IngestOptions | None = None,
    workers: int | None = None,
    replace: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest `paths` (files, folders, zip archives) of `vendor`'s format into the store at `store`."""
    if vendor not in VENDORS:
        raise IngestError(f"unknown vendor {vendor!r}; choose one of {', '.join(VENDORS)}.")
    options = options or IngestOptions()
    progress = progress or (lambda phase, done, total, rows: None)
    clock = time.monotonic()
    root = Path(store).expanduser()
    existing = Store.existing(root)  # a path taken by something else is refused before any work
    report = IngestReport(vendor=vendor, store=str(root), started=_now())
    suffixes = DATA_SUFFIXES + (PARQUET_SUFFIXES if vendor == "csv" else ())
    discovery = discover(paths, suffixes)
    kinds = f"{', '.join(suffixes[:-1])} or {suffixes[-1]}"
    report.skipped.extend(f"{name} (not a {kinds} file)" for name in discovery.skipped)
    if not discovery.sources:
        raise IngestError("no data files (.txt, .csv, or inside .zip archives) were found in the given paths.")
    workers = min(worker_count(workers), len(discovery.sources))  # a task holds one file or more
    pool = _start_pool(workers)
    try:
        return _ingest(root, existing, report, discovery, options, workers, replace, progress, pool, clock)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def worker_count(requested: int | None) -> int:
    """Phase 1 processes for `requested` (None: one per core), at most one per core: more add no speed, and
    each holds its own interpreter and row buffer."""
    cores = os.cpu_count() or 1
    return max(1, min(requested or cores, cores))


def _ingest(
    root: Path, existing: Store | None, report: IngestReport, discovery: Discovery, options: IngestOptions,
    workers: int, replace: bool, progress: Progress, pool: ProcessPoolExecutor | None, clock: float,
) -> IngestReport:
    vendor = report.vendor
    files = _inspect_all(vendor, discovery.sources, options, pool, progress)
    files, adjustment = _choose_adjustment(files, options, report)
    stored = _stored_adjustments(existing)
    _refuse_stored_adjustment({info.symbol for _, _, info in files if info.symbol}, stored, adjustment)
    sources = [source for _, source, _ in files]
    report.input_bytes = sum(source.size for source in sources)
    with _ingest_lock(root, new=existing is None):
        staging = root / STAGING_FOLDER
        shutil.rmtree(staging, ignore_errors=True)
        try:
            tasks = _tasks(files, staging, options.tz, workers)
            by_task = dict(_run_stage(tasks, pool, progress))
            results = [by_task[task.task_id] for task in tasks]
            counts: dict[int, SourceCounts] = {}
            for result in results:
                counts.update(result.counts)
            _refuse_stored_adjustment(set().union(*(r.symbols for r in results)), stored, adjustment)
            sessions = {day for result in results for item in result.staged for day in item.days}
            _refuse_damaged(root, sessions)
            done = [0]

            def on_session(day: dt.date, rows: int) -> None:
                done[0] += 1
                progress("write", done[0], len(sessions), rows)

            merged, written = merge_into_store(
                root, [item for result in results for item in result.staged], len(files),
                adjustment=adjustment, source_name=vendor, replace=replace,
                attributes={info.symbol: info.attributes for _, _, info in files if info.attributes},
                on_session=on_session,
            )
            quarantine_parts = [read_staged_quarantine(r.quarantine) for r in results if r.quarantine]
            quarantine_files = write_quarantine(root, vendor, sources, quarantine_parts + merged.conflicts)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    for source_id in range(len(files)):
        item = counts[source_id]
        item.rows_stored = int(merged.stored[source_id])
        item.rows_duplicate = int(merged.duplicate[source_id])
        item.quarantine = quarantine_files.get(source_id)
        report.sources.append(item)
    for conflict in merged.conflicts:
        for source_id in conflict.column("source").to_numpy():
            counts[int(source_id)].reject("conflicting_duplicate", 1)
    unbalanced = [item.source for item in report.sources if not item.balanced()]
    if unbalanced:
        raise RuntimeError(f"ingest counts do not add up for {unbalanced[:3]} (a bug; please report it)")
    report.sessions_written = written.sessions_written
    report.bars_written = written.bars_written
    report.symbols_added = written.symbols_added
    report.finished = _now()
    report.seconds = round(time.monotonic() - clock, 3)
    report.save(root / REPORTS_FOLDER / f"ingest-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S%fZ}-{vendor}.json")
    return report


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _inspect_all(
    vendor: str, sources: list[Source], options: IngestOptions, pool: ProcessPoolExecutor | None,
    progress: Progress,
) -> list[tuple[int, Source, FileInfo]]:
    """Every source identified (in the worker pool when there is one); IngestError listing every file that
    cannot be ingested as `vendor`."""
    chunks = [sources[i : i + INSPECT_CHUNK] for i in range(0, len(sources), INSPECT_CHUNK)]
    arguments = [(vendor, chunk, options) for chunk in chunks]
    answers = pool.map(_inspect_chunk, arguments) if pool else map(_inspect_chunk, arguments)
    files, problems = [], []
    done = 0
    for chunk, infos in zip(chunks, answers):
        done += len(chunk)
        progress("inspect", done, len(sources), 0)
        for source, info in zip(chunk, infos):
            if isinstance(info, str):
                problems.append(info)
            else:
                files.append((len(files), source, info))
    if problems:
        shown = "\n  ".join(problems[:10])
        more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise IngestError(f"{len(problems)} file(s) cannot be ingested; nothing was written:\n  {shown}{more}")
    return files


def _inspect_chunk(arguments: tuple[str, list[Source], IngestOptions]) -> list[FileInfo | str]:
    """Inspect some sources: each one's FileInfo, or the message saying why it cannot be ingested."""
    vendor, sources, options = arguments
    answers: list[FileInfo | str] = []
    for source in sources:
        try:
            answers.append(inspect(vendor, source, read_head(source), options))
        except IngestError as error:
            answers.append(str(error))
    return answers


def _choose_adjustment(
    files: list[tuple[int, Source, FileInfo]], options: IngestOptions, report: IngestReport
) -> tuple[list[tuple[int, Source, FileInfo]], str]:
    """One adjustment per run: the files', or the one --adjustment picks (skipping the others)."""
    found = sorted({info.adjustment for _, _, info in files})
    if options.adjustment is not None:
        kept = [item for item in files if item[2].adjustment == options.adjustment]
        report.skipped.extend(f"{source.label} ({info.adjustment}, not {options.adjustment})"
                              for _, source, info in files if info.adjustment != options.adjustment)
        if not kept:
            raise IngestError(f"none of the files holds {options.adjustment} bars (they hold {', '.join(found)}).")
        return [(i, source, info) for i, (_, source, info) in enumerate(kept)], options.adjustment
    if len(found) > 1:
        tally = {name: sum(info.adjustment == name for _, _, info in files) for name in found}
        listed = ", ".join(f"{count} {name}" for name, count in tally.items())
        raise IngestError(
            f"the files hold differently adjusted prices ({listed}); a store keeps one adjustment per symbol. "
            "Pick one with --adjustment (the other files are skipped), and use another store for the rest."
        )
    return files, found[0]


def _stored_adjustments(store: Store | None) -> dict[str, str]:
    if store is None:
        return {}
    symbols = store.symbols()
    return dict(zip(symbols["symbol"], symbols["adjustment"]))


def _refuse_stored_adjustment(symbols: set[str], stored: dict[str, str], adjustment: str) -> None:
    clash = sorted(symbol for symbol in symbols if stored.get(symbol, adjustment) != adjustment)
    if clash:
        examples = ", ".join(f"{symbol} ({stored[symbol]})" for symbol in clash[:5])
        raise IngestError(
            f"{len(clash)} symbol(s) are already stored with another price adjustment than these {adjustment} "
            f"files: {examples}. Nothing was written. Leave those files out, or use a separate store."
        )


def _refuse_damaged(root: Path, staged_days: set[int]) -> None:
    """Check the files this ingest will merge into (the sessions' bar partitions, their months' daily values,
    the symbols table) against their recorded sha256 before the first commit: a damaged one then stops the
    ingest with nothing committed, where the writer would stop only on reaching it, after committing the
    sessions before it. Hashing runs at disk speed; entries from before recorded digests are left to the
    page checksums of the merge's reads."""
    manifest = load_manifest(root)
    days = [staged_date(day) for day in staged_days]
    entries = [*(manifest.bars_1m.get(day.isoformat()) for day in days),
               *(manifest.daily.get(f"{day:%Y-%m}") for day in days), manifest.symbols]
    for entry in {entry.file: entry for entry in entries if entry is not None}.values():
        check_content(root, entry)


@contextlib.contextmanager
def _ingest_lock(root: Path, new: bool) -> Iterator[None]:
    """Hold the store's ingest lock, creating the store first when `new`.

    If the run then fails before its first commit, a store it created is removed again (the folder, or only
    its contents when the folder was there, empty, before), so that a refused ingest leaves the path as it
    found it. This happens under the lock, so never under another ingest that created the store as well.
    """
    keep_folder = root.exists()
    if new:
        Store.create(root)
    with writer_lock(root, wait_seconds=0.5, name=INGEST_LOCK):
        try:
            yield
        except BaseException:
            if new and load_manifest(root).generation == 0:
                _remove_contents(root, keep_folder)
            raise


def _remove_contents(root: Path, keep_folder: bool) -> None:
    """Delete everything in `root`, and `root` itself unless `keep_folder`."""
    if not keep_folder:
        shutil.rmtree(root)
        return
    for child in root.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


def _tasks(files: list[tuple[int, Source, FileInfo]], staging: Path, tz: str, workers: int) -> list[StageTask]:
    """Files grouped into tasks of similar size, in file order (so staged sessions come out symbol-sorted)."""
    total = sum(source.size for _, source, _ in files)
    target = min(max(total // (workers * 4), TASK_BYTES[0]), TASK_BYTES[1])
    tasks: list[StageTask] = []
    group: list[tuple[int, Source, FileInfo]] = []
    size = 0
    for item in sorted(files, key=lambda item: (item[2].symbol or "", item[0])):
        group.append(item)
        size += item[1].size
        if size >= target:
            tasks.append(StageTask(len(tasks), group, staging, tz, BUDGET_ROWS))
            group, size = [], 0
    if group:
        tasks.append(StageTask(len(tasks), group, staging, tz, BUDGET_ROWS))
    return tasks


def _start_pool(workers: int) -> ProcessPoolExecutor | None:
    """Worker processes for phase 1; None for a single worker (everything runs in this process).

    On Linux they are forked once this process has loaded the calendar and the compiled parser, so that they
    start with both (and every module) in place: spawning, each one imported the package and built the
    calendar again, about 2 s of CPU per worker. Elsewhere (fork is unsafe on macOS) they are spawned at
    once, and import and warm up while files are inspected.
    """
    if workers == 1:
        return None
    method = "fork" if sys.platform == "linux" else "spawn"
    if method == "fork":
        _warm_up()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context(method), initializer=_start_worker,
                               initargs=(method == "fork",))
    if method == "spawn":
        for _ in range(workers):
            pool.submit(_warm_up)
    return pool


def _start_worker(forked: bool) -> None:
    """Workers ignore Ctrl-C and SIGTERM (a terminal, or a service manager, signals the whole process group):
    the parent alone stops the run, cancelling queued tasks and waiting for running ones before it removes
    the staging folder.

    A forked worker also gets stdout and stderr objects of its own, as a spawned one has: a thread of the
    parent (the progress bar's) may hold the lock of the parent's at the fork, and a worker writing to them
    (a warning, or the flush at its exit) would then wait for ever.
    """
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    if forked:
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 (a process-long stream)
        sys.stderr = open(2, "w", buffering=1, errors="backslashreplace", closefd=False)  # noqa: SIM115


def _warm_up() -> None:
    """Load the calendar's schedule and the compiled parser, which every worker needs (the writer, the
    calendar)."""
    calendar.is_session(dt.date(2000, 1, 3))
    parse_fixed(b"2000-01-03 09:30:00,1,1,1,1,1\n", ISO_DATETIME, ",")


def _run_stage(
    tasks: list[StageTask], pool: ProcessPoolExecutor | None, progress: Progress
) -> Iterator[tuple[int, StageResult]]:
    """Run phase 1 tasks, in the worker pool when there is one; yield (task id, result).

    The first failure (a file found broken deep inside) cancels the tasks not yet started and waits for the
    running ones, so that no worker writes into the staging folder once the caller cleans it up.
    """
    total = sum(source.size for task in tasks for _, source, _ in task.files)
    done = rows = 0

    def finished(task: StageTask, result: StageResult) -> tuple[int, StageResult]:
        nonlocal done, rows
        done += sum(source.size for _, source, _ in task.files)
        rows += sum(counts.rows_read for counts in result.counts.values())
        progress("read", done, total, rows)
        return task.task_id, result

    if pool is None:
        for task in tasks:
            yield finished(task, stage(task))
        return
    futures: dict[Future, StageTask] = {}
    try:  # from the first submit: an interrupt anywhere below still waits for the running tasks
        for task in tasks:
            futures[pool.submit(stage, task)] = task
        _warm_up()  # this process writes next; load the calendar while the workers parse (when spawned)
        for future in as_completed(futures):
            yield finished(futures[future], future.result())
    finally:
        for future in futures:
            future.cancel()
        wait(futures)
