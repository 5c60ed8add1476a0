"""The in-process event fan-out: Subscription filtering and EventHub delivery."""

from __future__ import annotations

import asyncio
import threading

import pytest

from chat_svc.events import EventHub, Subscription
from common.errors import Aborted, Unavailable
from parley.chat.v1 import chat_pb2 as pb

ME, OTHER = 1, 2


def message(room_id: int, seq: int = 1) -> pb.Event:
    """A message_created event."""
    return pb.Event(room_id=room_id, message_created=pb.Message(room_id=room_id, seq=seq))


def joined(room_id: int, user_id: int) -> pb.Event:
    """A member_joined event."""
    return pb.Event(room_id=room_id, member_joined=pb.Membership(user_id=user_id, role=pb.MEMBER_ROLE_MEMBER))


def left(room_id: int, user_id: int) -> pb.Event:
    """A member_left event."""
    return pb.Event(room_id=room_id, member_left=pb.Membership(user_id=user_id))


def marker(room_id: int, user_id: int) -> pb.Event:
    """A read_marker event."""
    return pb.Event(room_id=room_id, read_marker=pb.ReadMarker(user_id=user_id, last_read_seq=3))


def drain(subscription: Subscription) -> list[pb.Event]:
    """Everything buffered right now, without waiting."""
    return list(subscription._buffer)


async def next_batch(subscription: Subscription, max_events: int = 100) -> list[pb.Event]:
    """next_batch, failing the test instead of hanging when nothing comes."""
    return await asyncio.wait_for(subscription.next_batch(max_events), 1.0)


# -- Subscription ---------------------------------------------------------------------------------------


def test_user_subscription_gets_only_its_rooms() -> None:
    """Events of rooms outside the subscription's set are dropped."""
    sub = Subscription(ME, {10}, limit=100)
    sub.offer(message(10))
    sub.offer(message(11))
    assert [e.room_id for e in drain(sub)] == [10]


def test_service_subscription_gets_every_room_and_marker() -> None:
    """A subscription without a room set (services) takes every event, read markers included."""
    sub = Subscription(None, None, limit=100)
    events = [message(10), message(11), marker(12, OTHER)]
    for event in events:
        sub.offer(event)
    assert drain(sub) == events


def test_joining_a_room_later_is_followed() -> None:
    """After a member_joined for the subscriber, that room's events are delivered."""
    sub = Subscription(ME, set(), limit=100)
    sub.offer(message(20, 1))
    sub.offer(joined(20, ME))
    sub.offer(message(20, 2))
    assert [e.WhichOneof("kind") for e in drain(sub)] == ["member_joined", "message_created"]
    assert sub.rooms == {20}


def test_someone_else_joining_a_foreign_room_is_not_followed() -> None:
    """Another user's member_joined for a room the subscriber is not in is dropped."""
    sub = Subscription(ME, set(), limit=100)
    sub.offer(joined(20, OTHER))
    sub.offer(message(20))
    assert drain(sub) == []
    assert sub.rooms == set()


def test_leaving_a_room_stops_its_events() -> None:
    """The subscriber's own member_left is delivered, then that room is no longer followed."""
    sub = Subscription(ME, {30}, limit=100)
    sub.offer(left(30, ME))
    sub.offer(message(30))
    assert [e.WhichOneof("kind") for e in drain(sub)] == ["member_left"]


def test_other_member_leaving_is_delivered_and_room_kept() -> None:
    """Someone else leaving a shared room is an event, and the room stays followed."""
    sub = Subscription(ME, {30}, limit=100)
    sub.offer(left(30, OTHER))
    sub.offer(message(30))
    assert [e.WhichOneof("kind") for e in drain(sub)] == ["member_left", "message_created"]


def test_read_markers_only_reach_their_owner() -> None:
    """A user's subscription takes its own read markers and drops other people's."""
    sub = Subscription(ME, {40}, limit=100)
    sub.offer(marker(40, OTHER))
    sub.offer(marker(40, ME))
    assert [e.read_marker.user_id for e in drain(sub)] == [ME]


def test_read_marker_of_a_foreign_room_is_dropped() -> None:
    """Even the subscriber's own read marker is dropped for a room it does not follow."""
    sub = Subscription(ME, {40}, limit=100)
    sub.offer(marker(41, ME))
    assert drain(sub) == []


def test_follow_adds_rooms_read_after_subscribing() -> None:
    """follow() makes the subscription deliver the given rooms' events too."""
    sub = Subscription(ME, set(), limit=100)
    sub.follow([50, 51])
    sub.offer(message(51))
    assert [e.room_id for e in drain(sub)] == [51]


def test_leave_seen_before_follow_wins_over_the_membership_read() -> None:
    """A room the user left between subscribing and follow() is not followed, though the read listed it."""
    sub = Subscription(ME, set(), limit=100)
    sub.offer(left(60, ME))
    sub.follow([60, 61])
    sub.offer(message(60))
    sub.offer(message(61))
    assert [e.room_id for e in drain(sub)] == [61]


def test_join_seen_before_follow_is_kept() -> None:
    """A room joined between subscribing and follow() stays followed though the read missed it."""
    sub = Subscription(ME, set(), limit=100)
    sub.offer(joined(70, ME))
    sub.follow([])
    sub.offer(message(70))
    assert [e.WhichOneof("kind") for e in drain(sub)] == ["member_joined", "message_created"]


def test_rejoin_before_follow_is_followed() -> None:
    """Leaving and then joining again before follow() ends up followed: the latest change wins."""
    sub = Subscription(ME, set(), limit=100)
    sub.offer(left(80, ME))
    sub.offer(joined(80, ME))
    sub.follow([80])
    sub.offer(message(80))
    assert drain(sub)[-1].room_id == 80


def test_leave_after_follow_stops_the_room() -> None:
    """Once following, the user's own leave drops the room as usual."""
    sub = Subscription(ME, set(), limit=100)
    sub.follow([90])
    sub.offer(left(90, ME))
    sub.offer(message(90))
    assert [e.WhichOneof("kind") for e in drain(sub)] == ["member_left"]


async def test_next_batch_returns_at_most_max_events_in_order() -> None:
    """next_batch takes up to max_events, oldest first, and leaves the rest."""
    sub = Subscription(ME, {1}, limit=100)
    for seq in range(1, 6):
        sub.offer(message(1, seq))
    first = await next_batch(sub, 3)
    second = await next_batch(sub, 3)
    assert [e.message_created.seq for e in first] == [1, 2, 3]
    assert [e.message_created.seq for e in second] == [4, 5]


async def test_next_batch_waits_for_an_event() -> None:
    """next_batch blocks until something is offered."""
    sub = Subscription(ME, {1}, limit=100)
    waiter = asyncio.create_task(sub.next_batch(10))
    await asyncio.sleep(0.01)
    assert not waiter.done()
    sub.offer(message(1))
    assert [e.room_id for e in await asyncio.wait_for(waiter, 1.0)] == [1]


async def test_overflow_aborts() -> None:
    """Going past the limit drops the buffer and makes next_batch raise Aborted."""
    sub = Subscription(ME, {1}, limit=3)
    for seq in range(1, 5):
        sub.offer(message(1, seq))
    assert sub.overflowed
    with pytest.raises(Aborted, match="resume"):
        await next_batch(sub)


async def test_overflow_ignores_later_events() -> None:
    """Once overflowed, later events are not buffered: the reader must resume from the database."""
    sub = Subscription(ME, {1}, limit=2)
    for seq in range(1, 4):
        sub.offer(message(1, seq))
    sub.offer(message(1, 4))
    assert drain(sub) == []
    with pytest.raises(Aborted):
        await next_batch(sub)


async def test_up_to_the_limit_is_fine() -> None:
    """Exactly `limit` buffered events are delivered, not aborted."""
    sub = Subscription(ME, {1}, limit=3)
    for seq in range(1, 4):
        sub.offer(message(1, seq))
    assert [e.message_created.seq for e in await next_batch(sub)] == [1, 2, 3]


async def test_close_wakes_a_waiting_reader_with_unavailable() -> None:
    """close() makes a blocked next_batch raise Unavailable."""
    sub = Subscription(ME, {1}, limit=10)
    waiter = asyncio.create_task(sub.next_batch(10))
    await asyncio.sleep(0.01)
    sub.close()
    with pytest.raises(Unavailable, match="shutting down"):
        await asyncio.wait_for(waiter, 1.0)


async def test_close_delivers_what_is_buffered_first() -> None:
    """Events buffered before close() are still handed out, then Unavailable."""
    sub = Subscription(ME, {1}, limit=10)
    sub.offer(message(1))
    sub.close()
    sub.offer(message(1, 2))
    assert [e.message_created.seq for e in await next_batch(sub)] == [1]
    with pytest.raises(Unavailable):
        await next_batch(sub)


# -- EventHub ---------------------------------------------------------------------------------------


async def test_hub_delivers_to_every_interested_subscription() -> None:
    """publish() reaches each subscription whose rooms match, in order."""
    hub = EventHub(asyncio.get_running_loop(), limit=100)
    a = hub.subscribe(ME, [1])
    b = hub.subscribe(OTHER, [1, 2])
    hub.publish([message(1, 1), message(2, 1), message(1, 2)])
    assert [(e.room_id, e.message_created.seq) for e in await next_batch(a)] == [(1, 1), (1, 2)]
    assert [(e.room_id, e.message_created.seq) for e in await next_batch(b)] == [(1, 1), (2, 1), (1, 2)]


async def test_hub_subscribe_copies_the_room_list() -> None:
    """Following a new room changes the subscription's own set, not the caller's list."""
    hub = EventHub(asyncio.get_running_loop())
    rooms = [1]
    sub = hub.subscribe(ME, rooms)
    hub.publish([joined(2, ME)])
    assert (rooms, sub.rooms) == ([1], {1, 2})


async def test_unsubscribed_gets_nothing() -> None:
    """After unsubscribe, published events are not buffered."""
    hub = EventHub(asyncio.get_running_loop())
    sub = hub.subscribe(ME, [1])
    hub.unsubscribe(sub)
    hub.publish([message(1)])
    assert drain(sub) == []


async def test_publish_threadsafe_keeps_call_order() -> None:
    """Events published from worker threads arrive on the loop in the order of the calls."""
    hub = EventHub(asyncio.get_running_loop(), limit=1000)
    sub = hub.subscribe(None, None)
    lock = threading.Lock()
    order: list[int] = []

    def worker(start: int) -> None:
        for seq in range(start, start + 50):
            with lock:  # like Chat's room lock: numbering and publishing happen together
                order.append(seq)
                hub.publish_threadsafe([message(1, seq)])

    threads = [threading.Thread(target=worker, args=(n * 100,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        await asyncio.to_thread(thread.join)
    received: list[int] = []
    while len(received) < 200:
        received += [e.message_created.seq for e in await next_batch(sub, 500)]
    assert received == order


async def test_hub_close_ends_every_subscription() -> None:
    """EventHub.close() makes every subscriber's next_batch raise Unavailable."""
    hub = EventHub(asyncio.get_running_loop())
    subs = [hub.subscribe(ME, [1]), hub.subscribe(None, None)]
    hub.close()
    for sub in subs:
        with pytest.raises(Unavailable):
            await next_batch(sub)


async def test_one_slow_subscriber_does_not_hurt_others() -> None:
    """An overflowing subscription is cut off while another keeps receiving."""
    hub = EventHub(asyncio.get_running_loop(), limit=5)
    slow = hub.subscribe(ME, [1])
    fast = hub.subscribe(OTHER, [1])
    for seq in range(1, 5):
        hub.publish([message(1, seq)])
        await next_batch(fast)
    hub.publish([message(1, 5), message(1, 6)])
    assert [e.message_created.seq for e in await next_batch(fast)] == [5, 6]
    with pytest.raises(Aborted):
        await next_batch(slow)


async def test_an_interrupted_feed_ends_streams_and_refuses_new_ones_until_resumed() -> None:
    """The broker lost events: live streams end UNAVAILABLE (they resume from MySQL), new ones wait."""
    hub = EventHub(asyncio.get_running_loop(), available=False)
    early = hub.subscribe(None, None)
    with pytest.raises(Unavailable, match="starting"):
        await early.next_batch(10)
    hub.resume()
    live = hub.subscribe(None, None)
    hub.publish([message(5)])
    assert [e.room_id for e in await live.next_batch(10)] == [5]
    hub.interrupt("lost the broker")
    with pytest.raises(Unavailable, match="lost the broker"):
        await live.next_batch(10)
    with pytest.raises(Unavailable):
        await hub.subscribe(None, None).next_batch(10)
    hub.resume()
    again = hub.subscribe(None, None)
    hub.publish([message(6)])
    assert [e.room_id for e in await again.next_batch(10)] == [6]
