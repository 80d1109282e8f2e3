-- Disappearing messages: a room's timer, each message's expiry, and the room's
-- last expiry sweep on its change feed (functions/core/disappearing.ts).

-- The room's timer in seconds (null: off). It applies to messages sent after it
-- was set: the send statement stamps expires_at from it, under the room's lock.
alter table rooms add column disappear_after integer check (disappear_after > 0);

-- Who created a channel: only they may set its timer (in a DM either person may).
-- Channels from before this migration have no recorded creator, `general`
-- neither: nobody can set a timer there. Null as well once the creator's
-- account is gone.
alter table rooms add column created_by bigint references users (id) on delete set null;
-- deleting an account finds the channels it created
create index rooms_created_by on rooms (created_by) where created_by is not null;

-- When the message disappears (null: never). No read returns it from then on
-- (functions/core/expiry.ts), and the sweep deletes the row within a minute.
alter table messages add column expires_at timestamptz;
-- An announcement of a timer change, sent in the room by the person who changed
-- it: the new timer in seconds, 0 when turned off (null: an ordinary message).
alter table messages add column timer integer check (timer >= 0);
-- the sweep's scan: only messages that will expire are in it
create index messages_expiry on messages (expires_at) where expires_at is not null;

-- The room's latest expiry on the change feed: the sweep deleted every message
-- of the room that expired at or before expired_through, under the seq
-- expired_seq. `changes` after a cursor below it says so (messages deleted for
-- good leave no tombstone), so a client that was away drops them.
alter table rooms add column expired_seq bigint, add column expired_through timestamptz;
