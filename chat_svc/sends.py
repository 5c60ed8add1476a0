"""Group commit for sends: sends that arrive while a transaction is in flight share the next.

A durable commit costs a disk flush (~0.5 ms here), so one commit per message caps a replica at a
couple of thousand messages per second. Here one task takes every send queued so far (up to
`max_batch`) and stores them with Messages.store() in one transaction, the one write path;
meanwhile the next sends queue up. Under light load a batch holds one send and nothing waits;
under heavy load the batches grow and the commits per message fall.

A send whose mentions are still being looked up (service.py asks auth_svc) is queued as the
awaitable of its Send, in its place: it is awaited when its batch is taken, so sends keep their order.

When tracing, each batch is a span linked to the span of every send it stores (common/tracing.py's
`batch_span`), and the transaction's SQL spans are its children.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from opentelemetry.trace import SpanContext

from chat_svc import metrics
from chat_svc.domain import Send, SendResult, Sent
from chat_svc.messages import Messages
from common import retry, tracing
from common.db import Database
from common.errors import ServiceError

# A send, its caller's future, and its caller's span (None when not tracing).
Queued = tuple[Send | asyncio.Future[Send], asyncio.Future[SendResult], SpanContext | None]
Ready = tuple[Send, asyncio.Future[SendResult], SpanContext | None]


class SendBatcher:
    """Queues validated sends and stores them in batches.

    Rooms are split over `lanes` queues (room id modulo lanes), each storing one transaction at a
    time: a room's sends always take the same lane, so they keep their order, while other rooms'
    batches commit meanwhile (a commit mostly waits for the disk).
    """

    def __init__(self, messages: Messages, db: Database, max_batch: int = 256, lanes: int = 2) -> None:
        self._messages = messages
        self._db = db
        self._max_batch = max_batch
        self._lanes: list[deque[Queued]] = [deque() for _ in range(lanes)]
        self._drainers: list[asyncio.Task[None] | None] = [None] * lanes
        self.batches = 0
        self.sends = 0

    async def send(self, user_id: int, room_id: int, client_msg_id: str, body: str) -> Sent:
        """Store a message (or find the original of a repeated client_msg_id); its error raised."""
        result = await self.submit(user_id, room_id, client_msg_id, body)
        if isinstance(result, ServiceError):
            raise result
        return result

    def submit(self, user_id: int, room_id: int, client_msg_id: str, body: str) -> asyncio.Future[SendResult]:
        """Queue a send now (sends are stored in the order they are submitted); its future result.

        Invalid input raises at once (InvalidArgument) and queues nothing.
        """
        return self.enqueue(self._messages.checked(user_id, room_id, client_msg_id, body))

    def enqueue(self, item: Send | asyncio.Future[Send], room_id: int = 0) -> asyncio.Future[SendResult]:
        """Queue a checked send, or one still being completed (then give its room_id); its future result."""
        if isinstance(item, Send):
            room_id = item.room_id
        future: asyncio.Future[SendResult] = asyncio.get_running_loop().create_future()
        lane = room_id % len(self._lanes)
        self._lanes[lane].append((item, future, tracing.current_span_context()))
        if self._drainers[lane] is None:
            self._drainers[lane] = asyncio.create_task(self._drain(lane), name=f"send-batcher-{lane}")
        return future

    async def _drain(self, lane: int) -> None:
        queue = self._lanes[lane]
        # This task serves many calls: not the deadline of the one that started it (the settings' window).
        retry.call_deadline.set(None)
        try:
            while queue:
                count = min(self._max_batch, len(queue))
                batch = await _completed([queue.popleft() for _ in range(count)])
                if not batch:
                    continue
                self.batches += 1
                self.sends += count
                metrics.SEND_BATCH_SIZE.observe(len(batch))
                started = time.perf_counter()
                try:
                    with tracing.batch_span(
                        "chat.send_batch", [span for *_, span in batch], {"parley.batch.size": len(batch)}
                    ):
                        results = await self._db.run(self._messages.store, [item for item, *_ in batch])
                    metrics.COMMIT_SECONDS.observe(time.perf_counter() - started)
                except Exception as exc:  # noqa: BLE001 - the database failed: every caller hears it
                    for _, future, _span in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future, _span), result in zip(batch, results, strict=True):
                    if not future.done():  # the caller may have gone (cancelled call)
                        future.set_result(result)
        finally:
            self._drainers[lane] = None


async def _completed(queued: list[Queued]) -> list[Ready]:
    """The batch's sends, each awaited if it was still being completed; one that failed is answered now."""
    ready: list[Ready] = []
    for item, future, span in queued:
        if not isinstance(item, Send):
            await asyncio.wait([item])
            error = None if item.cancelled() else item.exception()
            if item.cancelled() or error is not None:
                if future.done():
                    pass
                elif isinstance(error, ServiceError):  # e.g. auth_svc could not resolve its mentions
                    future.set_result(error)
                elif error is not None:  # a bug: its caller hears it, the others are stored
                    future.set_exception(error)
                else:
                    future.cancel()
                continue
            item = item.result()
        ready.append((item, future, span))
    return ready
