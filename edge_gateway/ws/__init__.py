"""The WebSocket side: frames, sockets, the fan-out of chat_svc's events, presence.

How an event reaches a browser:

    chat_svc --StreamEvents(all_rooms)--> Fanout (fanout.py: the event pump, one per process)
                                            |  each event is encoded to JSON once
                                            |--- member_joined / member_left -----> Presence (presence.py)
                                            |                                          | keeps current
                                            |--- "which sockets are in room R?" --> SocketIndex (index.py)
                                            v
                                          Connection.deliver (connection.py: skips what was sent
                                            |                 already, holds live events while
                                            |                 the socket catches up)
                                            v
                                          SocketWriter.send (writer.py: the one write path of a socket)
                                            v
                                          Wire (wire.py: uvicorn's transport), or an outbox and ASGI sends

A socket's life (endpoint.py): accept, make its SocketWriter, read the auth frame, load its rooms
and send `ready`, register it with Presence (which indexes it and announces its user), catch it up
from its cursors (catch_up.py), then act on its frames (commands.py: one handler per frame type,
each answered with its own ack; sends go to chat_svc over one shared stream, sends.py) until it
closes. When the event stream breaks, Fanout reconnects and catches every socket up again with the
catch-up function it was given.

Other gateways: Presence tells them about its users through Peers (edge_gateway/cluster.py's
ClusterPeers queue, or NoPeers), and Cluster feeds their news back into Presence, so the arrows
point one way: Cluster -> Presence -> Peers. Frames are described by pydantic models (frames.py),
parsed and built by protocol.py, and close codes follow edge_gateway/errors.py's table.
"""
