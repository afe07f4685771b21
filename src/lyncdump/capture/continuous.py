"""Several capture files read as one: a ring-buffer set (``dumpcap -b``) or the files of one
period, so that a TCP connection or a call crossing a file boundary stays whole.

:class:`ContinuousReader` is a :class:`CaptureReader` whose frames are those of its member
files in time order: members are ordered by their first frame's time and merged by
timestamp, a member being opened only when the merge reaches its first frame, so a ring
buffer (files that follow each other) keeps one file open at a time while overlapping files
(two capture points of one period) interleave correctly. Frame numbers count the set's
frames in that order. A member that ends in error (the last ring file cut short while
dumpcap wrote it) is noted in ``problems`` and the set goes on with the next.
"""

from __future__ import annotations

import heapq
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..errors import CaptureError
from . import open_capture
from .source import CaptureReader

#: Members open at once. Past it a member whose time has come waits until an open one ends,
#: so its frames come later than their time (a note in ``problems`` says so): many capture
#: points of one period would otherwise run out of file descriptors (each member a file and
#: a read buffer of up to 1 MiB).
MAX_OPEN_MEMBERS = 64
#: Member errors listed in ``problems``; the rest are counted.
MAX_LISTED_PROBLEMS = 8

#: ``prefix_00001_20240101120000.pcapng``: the names ``dumpcap -b`` gives a ring buffer.
RING_NAME = re.compile(r"^(?P<prefix>.*)_\d{5,}_\d{14}(?P<ext>\..+)?$")


@dataclass(slots=True)
class Member:
    """One file of a set: where its frames start in time, and what was read of it."""

    path: str
    first_time: float | None = None
    format: str = ""
    frames: int = 0
    error: str | None = None


def ring_set_name(path: str) -> str:
    """The set a file belongs to with ``--continuous``: ``dir/prefix_*.pcapng`` for a
    ``dumpcap -b`` ring file, else its folder (``dir``)."""
    folder, name = os.path.split(path)
    match = RING_NAME.match(name)
    if match is None:
        return folder or "."
    return os.path.join(folder, f"{match['prefix']}_*{match['ext'] or ''}")


def first_time(path: str) -> tuple[float | None, str]:
    """The time of a capture's first frame (None when it has none) and its format."""
    with open_capture(path) as reader:
        fmt = reader.format
        for ts, _linktype, _data in reader.frames():
            return ts, fmt
    return None, fmt


class ContinuousReader(CaptureReader):
    """The frames of several captures merged in time order (see the module docstring).

    A member that cannot be read at all is noted in ``problems`` and left out.
    """

    def __init__(self, paths: Sequence[str], name: str | None = None) -> None:
        if not paths:
            raise CaptureError("a continuous set needs at least one capture file")
        self.name = name if name is not None else ring_set_name(paths[0])
        self.compressed = False
        #: pcapng Decryption Secrets of every member, as they are read (shared with them).
        self.secrets: list[tuple[int, bytes]] = []
        self._started = False
        self.members = []
        for path in paths:
            try:
                ts, fmt = first_time(path)
            except CaptureError as exc:  # cut short before its first frame: noted, left out
                self.members.append(Member(path, None, "", error=str(exc)))
                continue
            self.members.append(Member(path, ts, fmt))
        # Stable: members with the same first time (or none) keep the order given.
        self.members.sort(key=lambda m: float("inf") if m.first_time is None else m.first_time)
        formats = {m.format for m in self.members if m.format}
        self.format = "mixed" if len(formats) > 1 else (formats.pop() if formats else "pcap")
        self._open: dict[int, CaptureReader] = {}
        #: Members opened after their time because MAX_OPEN_MEMBERS were open.
        self.late_members = 0

    @property
    def problems(self) -> list[str]:
        """What went wrong in members (each also ended that member early), the first
        :data:`MAX_LISTED_PROBLEMS` by name and the rest counted, and whether members had
        to wait for a file to close."""
        errors = [m.error for m in self.members if m.error]
        out = errors[:MAX_LISTED_PROBLEMS]
        if len(errors) > MAX_LISTED_PROBLEMS:
            out.append(f"{len(errors) - MAX_LISTED_PROBLEMS} more members with errors")
        if self.late_members:
            out.append(
                f"{self.late_members} members overlapped more than {MAX_OPEN_MEMBERS} open ones: "
                "each was read when an open one ended, so its first frames come after their time"
            )
        return out

    def _frames(self) -> Iterator[tuple[float, int, bytes]]:
        members = self.members
        # Members without frames have nothing to merge; the rest are in first-time order.
        order = [i for i, m in enumerate(members) if m.first_time is not None]
        starts = [members[i].first_time for i in order]
        count = len(order)
        heap: list[tuple[float, int, int, bytes, Iterator[tuple[float, int, bytes]]]] = []
        following = 0  # position in ``order`` of the next member not opened yet
        waiting = False  # the next member waits for an open one to end (counted once)

        def start(index: int) -> None:
            member = members[index]
            try:
                reader = open_capture(member.path)
            except CaptureError as exc:
                member.error = str(exc)
                return
            reader.secrets = self.secrets  # the pipeline reads one list for the whole set
            self._open[index] = reader
            advance(index, reader.frames())

        def advance(index: int, frames: Iterator[tuple[float, int, bytes]]) -> None:
            try:
                ts, linktype, data = next(frames)
            except StopIteration:
                self._close(index)
                return
            except CaptureError as exc:
                members[index].error = str(exc)
                self._close(index)
                return
            members[index].frames += 1
            heapq.heappush(heap, (ts, index, linktype, data, frames))

        while heap or following < count:
            if not heap or (following < count and starts[following] <= heap[0][0]):  # type: ignore[operator]
                if heap and len(self._open) >= MAX_OPEN_MEMBERS:
                    if not waiting:
                        waiting = True
                        self.late_members += 1
                else:
                    waiting = False
                    start(order[following])
                    following += 1
                    continue
            ts, index, linktype, data, frames = heapq.heappop(heap)
            yield ts, linktype, data
            if heap:
                advance(index, frames)
                continue
            # One member open (a ring buffer): read it straight until the next one starts.
            limit = starts[following] if following < count else None
            member = members[index]
            try:
                for ts, linktype, data in frames:
                    member.frames += 1
                    if limit is not None and ts >= limit:
                        heapq.heappush(heap, (ts, index, linktype, data, frames))
                        break
                    yield ts, linktype, data
                else:
                    self._close(index)
            except CaptureError as exc:
                member.error = str(exc)
                self._close(index)

    def _close(self, index: int) -> None:
        reader = self._open.pop(index, None)
        if reader is not None:
            reader.close()

    def close(self) -> None:
        for index in list(self._open):
            self._close(index)


__all__ = ["ContinuousReader", "Member", "RING_NAME", "first_time", "ring_set_name"]
