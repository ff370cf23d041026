"""The transcript: user messages as typed, replies as Markdown streamed as they arrive.

A reply's state is one of ``complete``, ``streaming``, ``cancelled`` (Escape: what arrived is kept),
``incomplete`` (the encrypted stream ended without its final chunk: never shown as whole) or
``error``. The transcript follows the bottom only while the user is already there (an anchored
scroll, released when the user scrolls up).
"""

from __future__ import annotations

import asyncio
import time

from rich.text import Text
from textual.app import ComposeResult
from textual.color import Color
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Button, Label, Markdown, Static

from tui.proof import SentUnder, marker_text
from verifier.text import one_line

STATE_NOTES = {
    "cancelled": "cancelled: you stopped this reply; what arrived is shown",
    "incomplete": "INCOMPLETE: the encrypted stream ended before its final chunk; this reply may be cut short",
    "error": "error",
}

#: The shortest time between two Markdown appends while a reply streams (20 per second).
FLUSH_EVERY = 0.05
#: The longest time between two appends when the machine is too busy to keep up.
FLUSH_MAX = 1.0

#: Characters after which a streaming reply starts a new Markdown segment (at a safe point).
SEGMENT_CHARS = 2000

#: How long after a scroll or a new segment the transcript re-checks which segments to hide.
VIRTUALIZE_EVERY = 0.2

#: How many stored messages a reopened conversation mounts at first; older ones load on demand.
PAGE = 20


class Sent(Vertical):
    """A message that went to (or came from) an attested service: it can take focus, and its head
    carries the marker of the release it went under (``F2`` on it opens that attestation)."""

    can_focus = True

    def __init__(self, classes: str) -> None:
        super().__init__(classes=classes)
        self.sent: SentUnder | None = None
        self.unsent = False
        self.role = "user"

    def head(self, who: str) -> ComposeResult:
        with Horizontal(classes="head"):
            yield Label(Text(who), classes="who")
            yield Label(Text(self.marker), classes="marker")

    @property
    def marker(self) -> str:
        return marker_text(self.role, self.sent, unsent=self.unsent)

    def show_sent(self, sent: SentUnder | None, *, unsent: bool = False) -> None:
        """Mark the message as gone under ``sent`` (or as not sent at all)."""
        self.sent, self.unsent = sent, unsent
        if self.is_mounted:
            self.query_one(".marker", Label).update(Text(self.marker))


class UserMessage(Sent):
    def __init__(self, text: str, sent: SentUnder | None = None) -> None:
        super().__init__(classes="message user")
        self.text = text
        self.sent = sent

    def compose(self) -> ComposeResult:
        yield from self.head("You")
        yield Static(Text(self.text), classes="body")


class SystemMessage(Vertical):
    def __init__(self, text: str) -> None:
        super().__init__(classes="message system")
        self.text = text

    def compose(self) -> ComposeResult:
        yield Label("System prompt", classes="who")
        yield Static(Text(self.text), classes="body")


class ReleaseLine(Static):
    """A decision on a release change taken in the conversation ("release changed from 0.1.0
    (log 0) to 0.2.0 (log 1), accepted at T"): one plain-text line, whatever the service named."""

    def __init__(self, text: str) -> None:
        super().__init__(Text(one_line(text)), classes="release-line")
        self.text = text


class StreamSegment(Static):
    """A segment of a reply while it streams: its text as it arrived, plain (``Text``, one widget).

    Textual lays out every Markdown block on each change, so a Markdown widget that grows 20
    times a second costs a layout of dozens of blocks per append (tens to hundreds of
    milliseconds while keys wait). A plain segment costs one wrap of at most a few thousand
    characters; it becomes Markdown when the reply ends (:meth:`AssistantMessage.finish`)."""

    def __init__(self, text: str = "") -> None:
        super().__init__(Text(text), classes="stream-segment")
        self._parts = [text] if text else []
        self.length = len(text)
        #: Set when the reply has ended: the segment becomes Markdown as it comes into view.
        self.final = False
        self._converting = False

    @property
    def source(self) -> str:
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    def append(self, text: str) -> None:
        """Add ``text`` and draw the segment again: one update per batch, never per delta."""
        self._parts.append(text)
        self.length += len(text)
        self.update(Text(self.source))

    def set_source(self, text: str) -> None:
        self._parts, self.length = [text], len(text)
        self.update(Text(text))

    async def become_markdown(self, placeholder: SegmentPlaceholder | None = None) -> None:
        """Put the Markdown of this (closed) segment in its place, once."""
        parent = self.parent
        if self._converting or not isinstance(parent, Widget):
            return
        self._converting = True
        markdown = Markdown(self.source)
        markdown.display = self.display  # a hidden one stays behind its placeholder
        await parent.mount(markdown, before=self)
        if placeholder is not None:
            placeholder.segment = markdown
        await self.remove()


class SegmentPlaceholder(Widget):
    """Stands in, at the same height, for a closed segment of a long reply that is scrolled far
    out of view (see :meth:`Transcript.virtualize`), so that layout skips its blocks."""

    def __init__(self, segment: Widget) -> None:
        super().__init__(classes="segment-placeholder")
        self.segment = segment
        self.display = False

    def render(self) -> str:
        return ""


def safe_cut(text: str, start: int) -> int | None:
    """The last offset at or after ``start`` where ``text`` may be split into two Markdown
    documents that render as the whole would: just after a blank line, outside any code fence, and
    before a line that starts a new top-level block (not an indented continuation or list item)."""
    fence = ""
    pos = 0
    best: int | None = None
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith(("```", "~~~")):
            if not fence:
                fence = stripped[:3]
            elif stripped.startswith(fence):
                fence = ""
        pos += len(line)
        if fence or line.strip() or pos < start or i + 1 >= len(lines) or not line.endswith("\n"):
            continue
        following = lines[i + 1]
        if not following.strip() or following[0] in " \t-*+>|" or following.lstrip()[:1].isdigit():
            continue
        best = pos
    return best


class AssistantMessage(Sent):
    """A reply: streamed as plain text in batches, rendered as Markdown when it ends.

    Deltas are kept as they arrive (:attr:`text` is exactly their concatenation) and drawn in
    batches, at most one update every :data:`FLUSH_EVERY` seconds (:meth:`write`), so that the
    event loop handles keys between batches. While streaming the reply is drawn as consecutive
    plain *segments* (:class:`StreamSegment`): once the open segment holds :data:`SEGMENT_CHARS`
    characters, it is closed at the next point where splitting changes nothing (:func:`safe_cut`)
    and a new one opens, so an update re-wraps one small segment instead of the whole reply. When
    the stream ends each segment is replaced by its Markdown (``Markdown(source)``), the visible
    (last) one first, one per turn of the event loop; since each segment ended on a block
    boundary, the segments render as the whole reply would.
    """

    def __init__(self, text: str = "", *, who: str = "Assistant", state: str = "complete",
                 note: str = "", sent: SentUnder | None = None) -> None:
        super().__init__(classes="message assistant")
        self.role = "assistant"
        self.sent = sent
        self._parts: list[str] = [text] if text else []
        self._lag = 0.0
        self._due = 0.0
        self._flushing = asyncio.Lock()
        self._pending: list[str] = []
        self._last_flush = 0.0
        self._flush_timer: Timer | None = None
        self.who = who
        self.state = state
        self.note = note
        self._open: StreamSegment | None = None

    @property
    def text(self) -> str:
        """Everything that arrived so far (joined on demand: appending stays O(1) per delta)."""
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    @property
    def marker(self) -> str:
        return "" if self.state == "streaming" else super().marker

    def compose(self) -> ComposeResult:
        yield from self.head(one_line(self.who))  # a model id from the service: plain Text
        with Vertical(classes="body"):
            yield StreamSegment(self.text) if self.state == "streaming" else Markdown(self.text)
        yield Label(Text(self._note_text()), classes="note")

    def on_mount(self) -> None:
        self._apply_state()

    @property
    def body(self) -> Markdown:
        """The last Markdown segment (the only one for a short reply) once the reply has ended."""
        return self.query(Markdown).last()

    @property
    def segments(self) -> list[Markdown | StreamSegment]:
        """The reply's segments in order: Markdown, or plain while streaming and, once it has
        ended, until a segment hidden far from the view comes near it."""
        return [w for w in self.query_one(".body", Vertical).children
                if isinstance(w, (Markdown, StreamSegment))]

    @property
    def stream_segments(self) -> list[StreamSegment]:
        return list(self.query(StreamSegment))

    def _note_text(self) -> str:
        base = STATE_NOTES.get(self.state, "")
        note = one_line(self.note)  # an error from the service: one plain line
        if self.state == "error" and note:
            return f"error: {note}"
        return f"{base} ({note})" if base and note else base

    def _apply_state(self) -> None:
        """Show the state on the note line and as a coloured left border. No class is toggled on
        the message or its body: that would restyle every block of a long reply."""
        note_text = self._note_text()
        note = self.query_one(".note", Label)
        for state in ("cancelled", "incomplete", "error"):
            note.set_class(self.state == state, f"-{state}")
        note.update(Text(note_text))
        note.display = bool(note_text)
        theme = self.app.current_theme
        color = {"streaming": theme.primary, "cancelled": theme.warning,
                 "incomplete": theme.error, "error": theme.error}.get(self.state)
        body = self.query_one(".body", Vertical)
        body.styles.border_left = ("outer", Color.parse(color)) if color else None

    def start(self) -> None:
        self.state = "streaming"
        self._apply_state()
        found = self.query(StreamSegment)
        self._open = found.last() if found else None

    async def write(self, delta: str) -> None:
        """Take one delta. The view is updated at most :data:`FLUSH_EVERY` apart: each update
        costs a layout, so a fast stream is drawn in batches and never falls behind."""
        if not delta:
            return
        self._parts.append(delta)
        self._pending.append(delta)
        waited = time.monotonic() - self._last_flush
        interval = self.flush_interval()
        if waited >= interval:
            await self._flush()
        elif self._flush_timer is None:
            self._due = time.monotonic() + interval - waited
            self._flush_timer = self.set_timer(interval - waited, self._timed_flush)

    def flush_interval(self) -> float:
        """Seconds between Markdown appends: :data:`FLUSH_EVERY`, stretched by how late the
        last flush timer fired. Each append costs a layout; when the event loop falls behind,
        appending less often keeps the input responsive and the stream on time."""
        return min(FLUSH_MAX, FLUSH_EVERY + 2 * self._lag)

    async def _timed_flush(self) -> None:
        late = max(0.0, time.monotonic() - self._due)
        self._lag = 0.7 * self._lag + 0.3 * late
        await self._flush()

    async def _flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        async with self._flushing:  # the timer and the writer never interleave their appends
            await self._flush_pending()

    async def _flush_pending(self) -> None:
        if not self._pending or self._open is None:
            return
        batch = "".join(self._pending)
        self._pending.clear()
        self._last_flush = time.monotonic()
        segment = self._open
        if segment.length + len(batch) > SEGMENT_CHARS:
            whole = segment.source + batch
            cut = safe_cut(whole, max(1, segment.length - 2))
            if cut is not None and cut > segment.length:
                segment.set_source(whole[:cut])
                await self._open_segment(whole[cut:])
                return
        segment.append(batch)

    async def _open_segment(self, text: str) -> None:
        body = self.query_one(".body", Vertical)
        if self._open is not None:
            closed = self._open
            await body.mount(SegmentPlaceholder(closed), after=closed)
        self._open = StreamSegment(text)
        await body.mount(self._open)

    async def finish(self, state: str, note: str = "") -> None:
        """Stop streaming; draw what is pending, then each segment as Markdown, the last first
        (the one in view), yielding to the event loop between two segments."""
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        async with self._flushing:
            if self._pending and self._open is not None:
                self._open.append("".join(self._pending))
            self._pending.clear()
            self._open = None
        segments = self.stream_segments
        if sum(s.length for s in segments) != len(self.text):  # never: but the text is what counts
            for extra in segments[1:]:
                await extra.remove()
            segments = segments[:1]
            if segments:
                segments[0].set_source(self.text)
        placeholders = {p.segment: p for p in self.query(SegmentPlaceholder)}
        for segment in segments:
            segment.final = True
        # The segments in view (or near it) become Markdown now, the last (visible) one first;
        # those hidden behind placeholders do when they come near the view (Transcript.virtualize).
        for i, segment in enumerate(reversed([s for s in segments if s.display])):
            if i:
                await asyncio.sleep(0)  # a key, a frame, between two segments
            await segment.become_markdown(placeholders.get(segment))
        self.state = state
        self.note = note
        self._apply_state()


class Transcript(VerticalScroll):
    """The conversation so far.

    Textual lays out every widget on each change, and a long reply is hundreds of Markdown
    blocks; so closed segments more than a screen away from the view are swapped for a
    placeholder of the same height (:meth:`virtualize`, run as the view scrolls or grows).
    """

    can_focus = True

    def on_mount(self) -> None:
        self.anchor()
        self._virtual_width = 0
        self._virtual_key: tuple[float, float, int, int] | None = None
        self.set_interval(VIRTUALIZE_EVERY, self._check_virtual)

    def _check_virtual(self) -> None:
        """Virtualize again when the view moved, grew, or a segment was closed."""
        placeholders = len(self.query(SegmentPlaceholder))
        if not placeholders:
            return
        key = (self.scroll_y, self.max_scroll_y, placeholders, self.region.width)
        if key != self._virtual_key:
            self._virtual_key = key
            self.virtualize()

    def virtualize(self) -> None:
        """Hide closed segments far from the view behind placeholders; show those near it."""
        width = self.region.width
        if width != self._virtual_width:  # heights measured at another width no longer hold
            self._virtual_width = width
            for placeholder in self.query(SegmentPlaceholder):
                placeholder.display = False
                placeholder.segment.display = True
            return
        view = self.region
        top, bottom = view.y - view.height, view.bottom + view.height
        for placeholder in self.query(SegmentPlaceholder):
            segment = placeholder.segment
            region = (segment if segment.display else placeholder).region
            if not region:
                continue  # not laid out yet
            near = region.bottom >= top and region.y <= bottom
            if near and not segment.display:
                placeholder.display = False
                segment.display = True
                if isinstance(segment, StreamSegment) and segment.final:
                    self.call_later(segment.become_markdown, placeholder)
            elif not near and segment.display and segment.outer_size.height:
                placeholder.styles.height = segment.outer_size.height
                placeholder.display = True
                segment.display = False

    async def add(self, *widgets: Widget) -> None:
        await self.mount_all(widgets)

    async def clear(self) -> None:
        await self.remove_children()
        self.anchor()


class EarlierMessages(Button):
    """Placeholder at the top of a long reopened conversation: loads the next page on press."""

    def __init__(self, remaining: int) -> None:
        super().__init__(Text(f"Show {remaining} earlier message{'s' if remaining != 1 else ''}"),
                         id="earlier", compact=True)
        self.remaining = remaining
