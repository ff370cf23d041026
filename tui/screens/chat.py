"""The chat: transcript, input, the proof panel and the status line, on one verified service.

Flow: the screen verifies in a worker as soon as it opens (input disabled meanwhile); a passing
result enables the input; a refusal shows the failing check and keeps the input disabled. Sending
is only offered while the last result is verified, and the Session refuses on its own anyway.

The proof state is a reactive (:attr:`ChatScreen.state`): whatever sets it, its watcher updates
the status line, the proof panel, the refusal view and whether the input is enabled.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import sqlite3
import threading
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Label
from textual.worker import Worker, WorkerCancelled, WorkerFailed, WorkerState

from tui.clipboard import system_copy
from tui.export import Transcript as ExportTranscript
from tui.export import Turn, write_export
from tui.history import History, HistoryError, StoredConversation, release_change_line
from tui.messages import ConversationChosen, PromptSubmitted
from tui.proof import Phase, ProofState, SentUnder
from tui.screens.base import ChatApp, chat_app, demo_banner, key_label
from tui.screens.details import DetailsScreen
from tui.screens.dialogs import ModelPicker, PathScreen, SystemPromptScreen
from tui.screens.message_proof import MessageProofScreen
from tui.screens.release_change import ReleaseChangeScreen
from tui.service import ChatService
from tui.widgets.prompt import PromptInput
from tui.widgets.proof import ProofPanel, RefusalView, StatusLine
from tui.widgets.sidebar import HistorySidebar
from tui.widgets.transcript import (
    PAGE,
    AssistantMessage,
    EarlierMessages,
    ReleaseLine,
    Sent,
    SystemMessage,
    Transcript,
    UserMessage,
)
from verifier.errors import (
    NotVerified,
    ServiceUnreachable,
    TruncatedResponse,
    VerifierError,
)
from verifier.release_pin import ReleaseChange, ReleaseChanged
from verifier.result import AttestationResult, iso
from verifier.text import one_line


@dataclasses.dataclass
class Message:
    role: str
    """``user``, ``assistant``, ``system``, or ``release``: a decision on a release change, shown
    as a line of the transcript and never sent."""
    content: str
    state: str = "complete"
    id: int | None = None
    sent: SentUnder | None = None
    """The attestation it went under (a reply: came under); None: none is recorded."""
    unsent: bool = False
    """Nothing of it was sent (the service no longer verified when it was to go out)."""


class ChatScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel_reply", "Cancel reply", id="cancel"),
        Binding("ctrl+r", "reverify", "Re-verify", id="reverify", priority=True),
        Binding("f2", "details", "Details", id="details", priority=True),
        Binding("f3", "toggle_history", "History", id="history", priority=True),
        Binding("f4", "pick_model", "Model", id="model", priority=True),
        Binding("f5", "system_prompt", "System", id="system_prompt", priority=True),
        Binding("f6", "copy_reply", "Copy", id="copy", priority=True),
        Binding("f7", "export", "Export", id="export", priority=True),
        Binding("ctrl+n", "new_chat", "New chat", id="new_chat", priority=True),
        # Not in the footer (it is full at 120 columns); the palette and docs/tui.md list them.
        Binding("ctrl+g", "regenerate", "Regenerate", id="regenerate", priority=True, show=False),
        Binding("ctrl+o", "edit_last", "Edit last", id="edit_last", priority=True, show=False),
    ]

    state: reactive[ProofState] = reactive(ProofState, init=False)
    """What the proof widgets show and whether the input is enabled (see :meth:`watch_state`)."""

    def __init__(self, service: ChatService) -> None:
        super().__init__()
        self.service = service
        target = service.target
        self.set_reactive(ChatScreen.state, ProofState(url=target.url, policy=target.policy.name,
                                                       demo=target.policy.demo))
        self.messages: list[Message] = []
        self.model: str | None = None
        self.system_prompt: str = ""
        self.conversation_id: str | None = None
        self.title_text = ""
        self.stored: StoredConversation | None = None
        self._shown_page = 0
        self._expiry_timer: Timer | None = None
        self._reply: Worker[None] | None = None
        self._bindings_verified: bool | None = None
        self._memory_proof: tuple[AttestationResult, SentUnder] | None = None
        self._kept: dict[tuple[str, str], tuple[AttestationResult, SentUnder]] = {}
        """The proof of each attestation this screen recorded, by conversation and nonce."""
        self._evidence_tried: set[int] = set()
        self._unsent: list[tuple[Message, Sent]] = []
        """Messages not sent when they were to go out; they go out with the next request."""
        self._pending_changes: list[tuple[ReleaseChange, str, str]] = []
        """Decisions on release changes taken before the conversation was saved (it is made with
        its first message): recorded then."""

    @property
    def chat_app(self) -> ChatApp:
        return chat_app(self.app)

    # -- layout ------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield from demo_banner(self.app)
        with Horizontal(id="main"):
            yield HistorySidebar(id="sidebar")
            with Vertical(id="chat"):
                yield Label("", id="chat-info")
                yield Transcript(id="transcript")
                yield RefusalView(id="refusal")
                yield PromptInput(id="prompt")
            yield ProofPanel(id="proof")
        yield StatusLine(id="status")
        yield Footer()

    @property
    def prompt(self) -> PromptInput:
        return self.query_one(PromptInput)

    @property
    def transcript(self) -> Transcript:
        return self.query_one(Transcript)

    def on_mount(self) -> None:
        self.query_one("#sidebar").display = False
        self.query_one(RefusalView).display = False
        self.prompt.disabled = True
        self._show_info()
        self._render_state()
        self.verify()

    async def on_unmount(self) -> None:
        try:
            await self.service.aclose()
        except Exception:  # closing must never turn an exit into a traceback
            pass

    # -- verification ------------------------------------------------------------------------------
    def _set_state(self, **changes: Any) -> None:
        self.state = dataclasses.replace(self.state, **changes)

    def watch_state(self, state: ProofState) -> None:
        if self.is_mounted:
            self._render_state()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out what cannot apply now (the footer shows it dimmed); hide nothing."""
        replying = self._reply is not None and self._reply.is_running
        if action == "cancel_reply":
            return True if replying else None
        if action == "pick_model":
            return True if self.state.verified else None
        if action in ("copy_reply", "export"):
            return True if any(m.role == "assistant" for m in self.messages) or (
                action == "export" and any(m.role != "release" for m in self.messages)) else None
        if action in ("regenerate", "edit_last"):
            asked = any(m.role == "user" for m in self.messages)
            return True if asked and not replying and (action == "edit_last" or self.state.verified) else None
        return True

    def _render_state(self) -> None:
        state = self.state
        if state.verified != self._bindings_verified:  # what check_action answers changed
            self._bindings_verified = state.verified
            self.refresh_bindings()  # the footer recomposes: not on every verification step
        self.query_one(StatusLine).show(state)
        self.query_one(ProofPanel).show(state)
        refusal = self.query_one(RefusalView)
        refused = state.phase in (Phase.REFUSED, Phase.UNREACHABLE, Phase.ERROR)
        refusal.display = refused
        if refused:
            keys = self.chat_app.config.keymap()
            refusal.show(state, reverify_key=key_label(keys["reverify"]),
                         details_key=key_label(keys["details"]))
        prompt = self.prompt
        allowed = state.verified
        if prompt.disabled == allowed:
            prompt.disabled = not allowed
            if allowed and self.app.screen is self:
                prompt.focus()

    @work(exclusive=True, group="verify", exit_on_error=False)
    async def verify(self) -> None:
        """Attest with a fresh nonce; the status line and panel show each step as it happens."""
        self._set_state(phase=Phase.VERIFYING, steps=(), message="", note="")

        loop_thread = threading.get_ident()

        def progress(step: str) -> None:
            if threading.get_ident() == loop_thread:
                self._set_state(steps=(*self.state.steps, step))
            else:  # a provider's synchronous fetch, run in a thread
                self.app.call_from_thread(progress, step)

        try:
            result = await self.service.attest(progress)
        except ServiceUnreachable as e:
            self._set_state(phase=Phase.UNREACHABLE, message=str(e), result=None)
            return
        except VerifierError as e:
            self._set_state(phase=Phase.ERROR, message=str(e), result=self.service.last_result)
            return
        except Exception as e:  # never a traceback in the UI; the message names what broke
            self._set_state(phase=Phase.ERROR, message=f"{type(e).__name__}: {e}", result=None)
            return
        self._apply_result(result)
        self._ask_release_change()

    def _apply_result(self, result: AttestationResult, note: str = "") -> None:
        change = self.service.release_change if result.verified else None
        phase = Phase.CHANGED if change is not None else Phase.VERIFIED if result.verified else Phase.REFUSED
        valid_until = self.service.valid_until if phase is Phase.VERIFIED else None
        self._set_state(phase=phase, result=result, valid_until=valid_until,
                        attestations=self.service.attestations,
                        note=f"Held back: {change.text()}." if change is not None else note)
        self._schedule_expiry(valid_until)

    def _ask_release_change(self, unsent: tuple[Message, UserMessage] | None = None) -> None:
        """Approve on change: the session holds back a passing result under another release; ask
        (nothing is sent meanwhile). Accepted: the session goes on under it, and ``unsent`` (the
        message that could not go out) is sent now."""
        change = self.service.release_change
        if change is None or isinstance(self.app.screen, ReleaseChangeScreen):
            return

        async def decided(accept: bool | None) -> None:
            if not accept:
                await self._record_release_change(change, "refused")
                self.notify("The new release was not accepted; nothing was sent. Ctrl+R verifies "
                            "again and asks again.", severity="warning", markup=False)
                return
            try:
                accepted = self.service.accept_release_change()
            except (VerifierError, OSError) as e:
                self.notify(f"Could not accept the release: {one_line(str(e))}", severity="error", markup=False)
                return
            await self._record_release_change(accepted, "accepted")
            result = self.service.last_result
            if result is not None:
                self._apply_result(result, note=f"Accepted by you: {accepted.text()}.")
            if unsent is not None and self._unsent and self._unsent[-1][0] is unsent[0]:
                view = AssistantMessage(who=self.model or "Assistant", state="streaming")
                await self.transcript.add(view)
                self.transcript.anchor()
                self._reply = self.reply(view, *unsent)

        self.app.push_screen(ReleaseChangeScreen(change), decided)

    async def _record_release_change(self, change: ReleaseChange, decision: str) -> None:
        """Show the decision as a line of the transcript and keep it in the conversation's history
        (once the conversation is saved, if it is not yet)."""
        at = iso(self.chat_app.clock())
        line = release_change_line(change.old, change.new, decision, at)
        self.messages.append(Message("release", line))
        await self.transcript.add(ReleaseLine(line))
        history = self.chat_app.history
        if history is None:
            return
        if self.conversation_id is None:
            self._pending_changes.append((change, decision, at))
            return
        try:
            history.record_release_change(self.conversation_id, change, decision, at)
        except (HistoryError, OSError, sqlite3.Error) as e:
            self.notify(f"Could not save to history: {one_line(str(e))}", severity="error", markup=False)

    def _schedule_expiry(self, valid_until: dt.datetime | None) -> None:
        if self._expiry_timer is not None:
            self._expiry_timer.stop()
            self._expiry_timer = None
        if valid_until is None:
            return
        delay = (valid_until - self.chat_app.clock()).total_seconds()
        if delay > 0:  # a result that is already past is re-attested by the next request
            self._expiry_timer = self.set_timer(delay + 0.5, self._expired)

    def _expired(self) -> None:
        """The result lapsed: attest again at once, so the panel never shows a stale proof."""
        if self._reply is not None and self._reply.is_running:
            return  # the Session re-attests before its next request anyway
        self.notify("The verified session lapsed; verifying again.", title="Re-attesting", markup=False)
        self.verify()

    def _after_exchange(self) -> None:
        """If the Session attested again by itself (key rotated, result lapsed), show the new result."""
        if self.service.attestations == self.state.attestations:
            return
        result = self.service.last_result
        if result is None:
            return
        note = (f"Re-attested automatically at {result.at.astimezone(dt.UTC).strftime('%H:%M:%SZ')} "
                "(the key rotated or the result lapsed).")
        self._apply_result(result, note=note)
        self.notify(note, title="Re-verified" if result.verified else "Re-verification failed",
                    severity="information" if result.verified else "error", markup=False)

    def action_reverify(self) -> None:
        if self._reply is not None and self._reply.is_running:
            self.notify("A reply is arriving; cancel it first (Escape).", severity="warning", markup=False)
            return
        self.verify()

    def action_details(self) -> None:
        """The proof of the focused message, if one is focused; else the current attestation's details."""
        message = self._focused_message()
        if message is not None:
            self.app.push_screen(MessageProofScreen(message.role, message.sent, unsent=message.unsent))
            return
        self.app.push_screen(DetailsScreen(self.state, self.service, self.chat_app.evidence_dir))

    def _focused_message(self) -> Sent | None:
        node = self.focused
        while node is not None and not isinstance(node, Sent):
            node = node.parent if isinstance(node.parent, Widget) else None
        if isinstance(node, AssistantMessage) and node.state == "streaming":
            return None  # it has no attestation of its own yet: the current one's details
        return node

    # -- sending -----------------------------------------------------------------------------------
    def _api_messages(self) -> list[dict[str, str]]:
        out = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        out += [{"role": m.role, "content": m.content} for m in self.messages
                if m.role in ("user", "assistant") and m.content]
        return out

    @on(PromptSubmitted)
    async def _submitted(self, event: PromptSubmitted) -> None:
        event.stop()
        if not self.state.verified:
            self.prompt.restore(event.text)  # the input is disabled now; nothing is sent
            return
        if self._reply is not None and self._reply.is_running:
            self.prompt.restore(event.text)  # the input emptied itself when it asked
            self.notify("A reply is still arriving; Escape cancels it.", severity="warning", markup=False)
            return
        user = Message("user", event.text)
        self.messages.append(user)
        self._save_message(user)
        user_view = UserMessage(event.text, user.sent)
        reply_view = AssistantMessage(who=self.model or "Assistant", state="streaming")
        await self.transcript.add(user_view, reply_view)
        self.transcript.anchor()
        self._reply = self.reply(reply_view, user, user_view)

    @work(exclusive=True, group="reply", exit_on_error=False)
    async def reply(self, view: AssistantMessage, user: Message, user_view: UserMessage) -> None:
        """Stream the reply into ``view``; Escape cancels this worker and keeps what arrived.
        Then mark ``user`` with the attestation it went under (the session may have attested
        again before sending it), or as not sent."""
        view.start()
        attestations = self.service.attestations
        state, note, sent = "complete", "", True
        try:
            async for delta in self.service.stream_chat(self._api_messages(), model=self.model):
                await view.write(delta)
        except asyncio.CancelledError:
            self._went_out(user, user_view, sent=True)
            await self._finish_reply(view, "cancelled", "")
            raise
        except TruncatedResponse:
            state = "incomplete"
        except ReleaseChanged as e:
            state, note, sent = "error", "not sent: the service's release changed; it waits for your decision", False
            if isinstance(e.result, AttestationResult):
                self._apply_result(e.result)
        except NotVerified as e:
            state, note, sent = "error", "nothing was sent: the service no longer verifies", False
            result = e.result if isinstance(e.result, AttestationResult) else None
            if result is not None:
                self._apply_result(result)
        except ServiceUnreachable as e:
            state, note = "error", str(e)
        except VerifierError as e:
            state, note = "error", str(e)
        except Exception as e:  # never a traceback in the UI
            state, note = "error", f"{type(e).__name__}: {e}"
        if self.service.attestations != attestations:
            self._after_exchange()
        self._went_out(user, user_view, sent=sent)
        await self._finish_reply(view, state, note)
        if not sent:
            self._ask_release_change((user, user_view))

    async def _finish_reply(self, view: AssistantMessage, state: str, note: str) -> None:
        try:
            await view.finish(state, note)
        except Exception:  # the screen is closing
            return
        message = Message("assistant", view.text, state)
        if view.text or state != "error":
            self.messages.append(message)
            self._save_message(message)
            view.show_sent(message.sent)
        else:
            view.show_sent(None, unsent=True)

    def _went_out(self, user: Message, view: UserMessage, *, sent: bool) -> None:
        """``user`` went under the attestation in force now (so did the messages that could not
        go out before: they are part of every request), or, when ``sent`` is false, not at all."""
        history = self.chat_app.history
        pending = [(user, view)] if not sent else [*self._unsent, (user, view)]
        proof = self._proof(self._current_result()) if sent else None
        for message, widget in pending:
            if message.sent is proof and message.unsent == (not sent):
                continue
            message.sent, message.unsent = proof, not sent
            widget.show_sent(proof, unsent=not sent)
            if history is not None and message.id is not None:
                try:
                    history.set_message_attestation(message.id, proof.attestation_id if proof else None)
                except (HistoryError, OSError, sqlite3.Error) as e:
                    self.notify(f"Could not save to history: {one_line(str(e))}", severity="error", markup=False)
        if sent:
            self._unsent.clear()
        else:
            self._unsent.append((user, view))

    def action_cancel_reply(self) -> None:
        if self._reply is not None and self._reply.is_running:
            self._reply.cancel()

    # -- regenerate the last reply, edit the last message ----------------------------------------------
    def _last_turn(self) -> tuple[Message, UserMessage, list[Message], list[Widget]] | None:
        """The last message of yours, its widget, and the replies after it (messages and widgets:
        a reply that failed with nothing has a widget only)."""
        index = next((i for i in range(len(self.messages) - 1, -1, -1) if self.messages[i].role == "user"), None)
        views = list(self.transcript.children)
        at = next((i for i in range(len(views) - 1, -1, -1) if isinstance(views[i], UserMessage)), None)
        if index is None or at is None:
            return None
        view = views[at]
        assert isinstance(view, UserMessage)
        replies = [m for m in self.messages[index + 1:] if m.role == "assistant"]
        return (self.messages[index], view, replies,
                [w for w in views[at + 1:] if isinstance(w, AssistantMessage)])

    async def _drop(self, messages: list[Message], widgets: list[Widget]) -> None:
        """Take ``messages`` out of the conversation (the history keeps them, superseded) and
        ``widgets`` out of the transcript."""
        history = self.chat_app.history
        ids = [m.id for m in messages if m.id is not None]
        if history is not None and ids:
            try:
                history.supersede_messages(ids)
            except (HistoryError, OSError, sqlite3.Error) as e:
                self.notify(f"Could not save to history: {one_line(str(e))}", severity="error", markup=False)
        self.messages = [m for m in self.messages if not any(m is d for d in messages)]
        self._unsent = [(m, w) for m, w in self._unsent if not any(m is d for d in messages)]
        for widget in widgets:
            await widget.remove()
        self.refresh_bindings()

    def _busy(self) -> bool:
        if self._reply is not None and self._reply.is_running:
            self.notify("A reply is arriving; cancel it first (Escape).", severity="warning", markup=False)
            return True
        return False

    async def action_regenerate(self) -> None:
        """Drop the last reply and send the same conversation again (only when verified)."""
        if self._busy():
            return
        if not self.state.verified:
            self.notify("Nothing is sent until the service verifies; the reply was kept.",
                        severity="warning", markup=False)
            return
        turn = self._last_turn()
        if turn is None:
            self.notify("There is no message to answer again.", severity="warning", markup=False)
            return
        user, user_view, replies, widgets = turn
        await self._drop(replies, widgets)
        view = AssistantMessage(who=self.model or "Assistant", state="streaming")
        await self.transcript.add(view)
        self.transcript.anchor()
        self._reply = self.reply(view, user, user_view)

    async def action_edit_last(self) -> None:
        """Put your last message back into the input and take it and its reply out of the
        conversation; sending sends the edited one (the usual way: only when verified)."""
        if self._busy():
            return
        turn = self._last_turn()
        if turn is None:
            self.notify("There is no message of yours to edit.", severity="warning", markup=False)
            return
        user, user_view, replies, widgets = turn
        await self._drop([user, *replies], [user_view, *widgets])
        prompt = self.prompt
        prompt.restore(user.content + ("\n" if prompt.text else ""))
        if not prompt.disabled:
            prompt.focus()

    # -- history, and the attestation each message went under ----------------------------------------
    def _current_result(self) -> AttestationResult | None:
        """What a message sent now goes under: the session's last result, if it verified."""
        result = self.service.last_result
        return result if result is not None and result.verified else None

    def _proof(self, result: AttestationResult | None) -> SentUnder | None:
        """The proof of ``result`` for the marker and ``F2``: with a history, its row in this
        conversation (made once) and its evidence (kept once, while the session's last
        attestation is still this one); without, the result alone."""
        if result is None:
            return None
        if self._memory_proof is None or self._memory_proof[0] is not result:
            self._memory_proof = (result, SentUnder(result.to_json()))
        memory = self._memory_proof[1]
        history, cid = self.chat_app.history, self.conversation_id
        if history is None or cid is None:
            return memory
        key = (cid, result.nonce.hex() if result.nonce is not None else f"result-{id(result)}")
        kept = self._kept.get(key)
        if kept is not None and kept[0] is result:
            return kept[1]
        try:
            attestation_id = history.record_attestation(cid, result)
            proof = SentUnder(memory.result, attestation_id,
                              self._keep_evidence(history, attestation_id, result), cid)
        except (HistoryError, OSError, sqlite3.Error) as e:
            self.notify(f"Could not save to history: {one_line(str(e))}", severity="error", markup=False)
            return memory
        self._kept[key] = (result, proof)
        return proof

    def _keep_evidence(self, history: History, attestation_id: int, result: AttestationResult) -> Path | None:
        stored = history.attestation(attestation_id)
        name = stored.evidence if stored is not None else None
        if name is None and attestation_id not in self._evidence_tried and self.service.last_result is result:
            self._evidence_tried.add(attestation_id)  # tried once: a failure is said once
            try:
                name = history.keep_evidence(attestation_id, self.service.save_last, self.service.target.policy)
            except HistoryError as e:
                self.notify(f"This attestation's evidence is not kept, so it cannot be checked again "
                            f"later: {one_line(str(e))}", severity="warning", markup=False)
        return history.evidence_path(name)

    def _save_message(self, message: Message) -> None:
        """Save ``message`` (when a history is kept) and mark it with the attestation in force."""
        history = self.chat_app.history
        if history is not None and self.conversation_id is None:
            try:
                self.title_text = self.title_text or message.content.splitlines()[0][:80]
                self.conversation_id = history.create_conversation(
                    title=self.title_text, service_url=self.service.target.url,
                    policy_name=self.service.target.policy.name, model=self.model,
                    system_prompt=self.system_prompt or None)
                for change, decision, at in self._pending_changes:
                    history.record_release_change(self.conversation_id, change, decision, at)
                self._pending_changes.clear()
            except (HistoryError, OSError, sqlite3.Error) as e:
                self.notify(f"Could not save to history: {one_line(str(e))}", severity="error", markup=False)
        message.sent = self._proof(self._current_result())
        if history is None or self.conversation_id is None:
            return
        try:
            message.id = history.add_message(self.conversation_id, message.role, message.content,
                                             state=message.state,
                                             attestation_id=message.sent.attestation_id if message.sent else None)
        except (HistoryError, OSError, sqlite3.Error) as e:
            self.notify(f"Could not save to history: {one_line(str(e))}", severity="error", markup=False)

    def action_toggle_history(self) -> None:
        sidebar = self.query_one(HistorySidebar)
        sidebar.display = not sidebar.display
        if sidebar.display:
            history = self.chat_app.history
            sidebar.searcher = history.search if history is not None else None
            sidebar.show(history.search(sidebar.search_text) if history is not None else None)
            sidebar.query_one("OptionList").focus()
        elif not self.prompt.disabled:
            self.prompt.focus()

    @on(ConversationChosen)
    async def _reopen(self, event: ConversationChosen) -> None:
        event.stop()
        await self.open_conversation(event.conversation_id)

    async def open_conversation(self, conversation_id: str) -> None:
        """Show a saved conversation; new messages continue it. Long ones load the last page first."""
        history = self.chat_app.history
        if history is None:
            return
        await self._stop_reply()
        stored = history.load(conversation_id)
        if stored is None:
            self.notify("That conversation is no longer saved.", severity="warning", markup=False)
            return
        self.stored = stored
        self.conversation_id = stored.id
        self.title_text = stored.title
        self.model = stored.model
        self.system_prompt = stored.system_prompt or ""
        proofs: dict[int, SentUnder | None] = {}
        changes = list(stored.release_changes)
        self.messages = []
        for m in stored.messages:  # each decision on a release change after the message it followed
            while changes and (changes[0].after_message or 0) < m.id:
                self.messages.append(Message("release", changes.pop(0).text()))
            if m.superseded is None:
                self.messages.append(Message(m.role, m.content, m.state, m.id,
                                             self._stored_proof(history, stored.id, m.attestation_id, proofs)))
        self.messages += [Message("release", c.text()) for c in changes]
        self._unsent.clear()
        self._pending_changes.clear()
        await self.transcript.clear()
        self._shown_page = 0
        await self._show_more()
        self.transcript.scroll_end(animate=False, immediate=True)
        self._show_info()
        self.refresh_bindings()  # copy and export follow the messages on view
        if not self.prompt.disabled:
            self.prompt.focus()

    @staticmethod
    def _stored_proof(history: History, cid: str, attestation_id: int | None,
                      proofs: dict[int, SentUnder | None]) -> SentUnder | None:
        """The attestation a saved message went under, as the history keeps it (each read once)."""
        if attestation_id is None:
            return None
        if attestation_id not in proofs:
            stored = history.attestation(attestation_id)
            proofs[attestation_id] = None if stored is None else SentUnder(
                stored.result, stored.id, history.evidence_path(stored.evidence), cid)
        return proofs[attestation_id]

    def _message_widget(self, m: Message) -> UserMessage | AssistantMessage | SystemMessage | ReleaseLine:
        if m.role == "user":
            return UserMessage(m.content, m.sent)
        if m.role == "system":
            return SystemMessage(m.content)
        if m.role == "release":
            return ReleaseLine(m.content)
        state = m.state if m.state in ("complete", "cancelled", "incomplete", "error") else "cancelled"
        return AssistantMessage(m.content, who=self.model or "Assistant", state=state, sent=m.sent)

    async def _show_more(self) -> None:
        """Mount the next page of older messages above what is shown."""
        shown = self._shown_page * PAGE
        total = len(self.messages)
        end = total - shown
        start = max(0, end - PAGE)
        widgets = [self._message_widget(m) for m in self.messages[start:end]]
        transcript = self.transcript
        for old in transcript.query(EarlierMessages):
            await old.remove()
        if widgets:
            first = transcript.children[0] if transcript.children else None
            if first is not None:
                await transcript.mount_all(widgets, before=first)
            else:
                await transcript.mount_all(widgets)
        self._shown_page += 1
        if start > 0:
            await transcript.mount(EarlierMessages(start), before=0)

    @on(EarlierMessages.Pressed, "#earlier")
    async def _earlier(self, event: EarlierMessages.Pressed) -> None:
        event.stop()
        await self._show_more()

    async def _stop_reply(self) -> None:
        """Cancel a reply that is arriving and wait until it is kept and saved."""
        worker = self._reply
        if worker is not None and worker.is_running:
            worker.cancel()
            try:
                await worker.wait()
            except (WorkerCancelled, WorkerFailed):
                pass

    async def action_new_chat(self) -> None:
        await self._stop_reply()
        self.messages = []
        self.conversation_id = None
        self.title_text = ""
        self.system_prompt = ""
        self.stored = None
        self._unsent.clear()
        self._pending_changes.clear()
        await self.transcript.clear()
        self._show_info()
        self.refresh_bindings()  # copy and export follow the messages on view
        if not self.prompt.disabled:
            self.prompt.focus()

    # -- model, system prompt ------------------------------------------------------------------------
    def _show_info(self) -> None:
        # The model id comes from the service, the title from the history file: one plain line each.
        parts = [f"model: {one_line(self.model) if self.model else 'service default'}"]
        parts.append("system prompt: set" if self.system_prompt else "no system prompt")
        if self.title_text:
            parts.insert(0, one_line(self.title_text))
        self.query_one("#chat-info", Label).update(Text(" · ".join(parts), no_wrap=True,
                                                        overflow="ellipsis"))

    def action_pick_model(self) -> None:
        if not self.state.verified:
            self.notify("The model list is asked over the attested channel; verify first.",
                        severity="warning", markup=False)
            return
        self._load_models()

    @work(exclusive=True, group="models", exit_on_error=False)
    async def _load_models(self) -> None:
        try:
            models = await self.service.models()
        except VerifierError as e:
            self.notify(f"Could not list models: {one_line(str(e))}", severity="error", markup=False)
            self._after_exchange()
            return
        self._after_exchange()
        if not models:
            self.notify("The service lists no models.", severity="warning", markup=False)
            return

        def chosen(model: str | None) -> None:
            if model is None:
                return
            self.model = model
            self._show_info()
            self._update_conversation()

        self.app.push_screen(ModelPicker(models, self.model), chosen)

    def action_system_prompt(self) -> None:
        def done(text: str | None) -> None:
            if text is None:
                return
            self.system_prompt = text
            self._show_info()
            self._update_conversation()

        self.app.push_screen(SystemPromptScreen(self.system_prompt), done)

    def _update_conversation(self) -> None:
        history = self.chat_app.history
        if history is not None and self.conversation_id is not None:
            history.update_conversation(self.conversation_id, model=self.model,
                                        system_prompt=self.system_prompt or None)

    # -- copy, export --------------------------------------------------------------------------------
    def action_copy_reply(self) -> None:
        reply = next((m for m in reversed(self.messages) if m.role == "assistant" and m.content), None)
        if reply is None:
            self.notify("There is no reply to copy yet.", severity="warning", markup=False)
            return
        self.app.copy_to_clipboard(reply.content)
        self._copy_fallback(reply.content)

    @work(thread=True, group="copy", exit_on_error=False)
    def _copy_fallback(self, text: str) -> None:
        tool = system_copy(text)
        where = f"the terminal clipboard and {tool}" if tool else "the terminal clipboard (OSC 52)"
        message = f"Copied the last reply ({len(text)} characters) to {where}."
        self.app.call_from_thread(lambda: self.notify(message, markup=False))

    def export_transcript(self) -> ExportTranscript:
        return ExportTranscript(
            title=self.title_text, service_url=self.service.target.url,
            policy=self.service.target.policy.name, model=self.model,
            system_prompt=self.system_prompt or None,
            turns=[Turn(m.role, m.content, m.state) for m in self.messages if m.role != "release"],
            result=self.state.result)

    def action_export(self) -> None:
        if not any(m.role != "release" for m in self.messages):
            self.notify("There is nothing to export yet.", severity="warning", markup=False)
            return
        base = self.chat_app.export_dir or Path.cwd()
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        default = base / f"enclave-chat-{stamp}.md"

        def write(path: Path | None) -> None:
            if path is None:
                return
            try:
                kind = write_export(path, self.export_transcript())
            except OSError as e:
                self.notify(f"Could not export: {one_line(str(e))}", severity="error", markup=False)
                return
            self.notify(f"Exported as {kind} to {path}", title="Exported", markup=False)

        self.app.push_screen(PathScreen("Export this conversation", default,
                                        "A name ending in .json writes JSON; anything else Markdown."),
                             write)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "reply":
            return  # only a reply changes what check_action answers (cancel, copy, export)
        if event.worker is self._reply and event.state in (WorkerState.SUCCESS, WorkerState.ERROR,
                                                           WorkerState.CANCELLED):
            self._reply = None
        self.refresh_bindings()
