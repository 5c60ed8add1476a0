"""chat_svc: rooms, membership, messages, read markers, typing and the event stream, over gRPC.

Layers, top down (each module holds one concept):

    servicer.py     protos in, protos out (convert.py); authenticates the caller, no rules
    service.py      Chat: the servicer's one collaborator; runs the concepts on the database's
                    worker threads, orders the checks that ask auth_svc (directory.py)
    rooms.py  membership.py  messages.py  history.py  reads.py  activity.py  streams.py
                    the rules, in domain values (domain.py); access.py: who may see a room
    reactions.py  moderation.py (settings, roles, removals)  roles.py: who may do what, one table
    operators (ModerationService): moderation_servicer.py (scopes first, common/scopes.py) ->
                    operator.py (awaitable face) -> operations.py (archive, restore, remove, transfer,
                    take down; each with its audit.py entry in its transaction), overview.py (find
                    rooms, members), export.py (history by seq), tail.py (live events by kind)
    repository.py   the hand-written SQL and shared queries; rows to domain values (models.py)
    files: uploads.py (bytes in: spool, sniff, thumbnail; media.py) -> blobs.py (the blob store:
                    folder or S3) and files.py (the rules and rows); sweeper.py removes what expired.
                    Attaching rides on the send's transaction (messages.py); reads add Message.files
                    for messages whose file_count says they have some (repository.with_files).

One write path for messages: SendMessage and each item of SendMessages are queued by sends.py
(SendBatcher: group commit, in lanes by room) and stored by messages.Messages.store(), a batch in
one transaction; a single send is a batch of one. A batch that meets a concurrent writer is
rolled back and each of its sends retried alone through the same store().

Events, from a commit to a stream (five nouns, one flow):

    rules ──Publisher (publisher.py, builds each pb.Event once)──► sink
    sink = the hub itself (no broker)        or  the bus (CHAT_BROKER_URL set)
                                                 bus ──XADD──► Redis stream ──XREAD──► every replica's bus
                                                 └─► feed: sequencer ──► hub
    hub ──► each StreamEvents subscription (streams.py adds the replay from chat_db before it)

- sink: where writers publish (events.EventSink): the hub, or the bus. Writers publish after
  their commit, under the room's lock (locks.py), so a room's events leave in commit order.
- hub (events.EventHub): this process's fan-out to its live subscriptions, each with a bounded
  buffer; a subscriber that falls too far behind is cut off and resumes from the database.
- bus (broker.RedisEventBus): every replica appends its events to one Redis stream and reads
  all of them back, its own included, so every replica's hub sees the same events.
- feed (feed.BrokerFeed): with a broker, what feeds the hub: the bus's reader, then the
  sequencer, plus a periodic sweep for messages that never came through.
- sequencer (sequencer.Sequencer): puts each room's messages back in seq order after the
  broker and fills gaps from MySQL, the source of truth.
"""
