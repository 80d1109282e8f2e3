-- Conversations: edits, deletes (tombstones), reactions, replies, mentions, and
-- the change feed that lets a client catch up on all of them.

-- The change feed. Every message row carries `seq`, the room's change sequence at
-- the message's latest change (its send, an edit, a delete, a reaction added or
-- removed, a purge). Seqs come from one sequence shared by every room and are
-- handed out while the room's row is locked (rooms.last_seq), exactly like
-- message ids, so within a room they increase in commit order: a client that asks
-- for the changes after its cursor never skips one committed late. prev_seq is
-- the room's seq before its latest change, set by the same update, for the live
-- events' `prevSeq` (as prev_message_id is for `prev`).
create sequence message_seqs;
alter table rooms add column last_seq bigint, add column prev_seq bigint;

alter table messages add column seq bigint;
alter table messages add column edited_at timestamptz;
-- A deleted message stays as a tombstone: its body erased (''), so the feed can
-- tell every client that it is gone. Migration 010 (read state) repeats the
-- definitions it needs with `if not exists`, so the two may run in either order.
alter table messages add column if not exists deleted_at timestamptz;
-- The message replied to: in the same room, checked by the send.
alter table messages add column reply_to bigint;
-- Members mentioned with @name, in the order of the text, at most 50; and whether
-- an @here in a channel was allowed (within its sender's budget). The ids of the
-- members online at send time are not stored.
alter table messages add column if not exists mentioned_user_ids bigint[] not null default '{}';
alter table messages add column if not exists mentions_here boolean not null default false;

-- Messages from before: ids were handed out in commit order per room, so the id
-- is a valid change sequence for a message that never changed. Rooms start the
-- feed at their highest such seq, and new seqs continue above every id.
update messages set seq = id;
update rooms r set last_seq = (select max(m.id) from messages m where m.room_id = r.id);
select setval('message_seqs', coalesce((select max(id) from messages), 0) + 1, false);
alter sequence message_seqs owned by messages.seq;
-- The send statement sets seq under the room's lock; the default only covers a
-- row written some other way (an old process during a rolling deploy, a seed
-- script), so that no message is ever missing from the feed.
alter table messages alter column seq set default nextval('message_seqs');
alter table messages alter column seq set not null;
-- `changes`: a room's messages by seq
create index messages_room_seq on messages (room_id, seq);

-- One row per person, message and emoji. A message has at most 20 distinct emoji
-- (checked by the react statement); deleting the message deletes its reactions.
create table reactions (
  message_id bigint not null references messages (id) on delete cascade,
  user_id    bigint not null references users (id) on delete cascade,
  emoji      text not null,
  created_at timestamptz not null default clock_timestamp(),
  primary key (message_id, user_id, emoji)
);
create index reactions_user on reactions (user_id);
