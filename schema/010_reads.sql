-- Read state on every device: how far each member has read each room, and
-- whether a person shares it (read receipts) in direct conversations.

-- The columns the unread and mention counts read. Migration 009 (edits, deletes,
-- mentions) creates them with these very definitions; they are repeated here with
-- `if not exists` so that this file does not depend on which of the two ran first.
alter table messages add column if not exists deleted_at timestamptz;
alter table messages add column if not exists mentioned_user_ids bigint[] not null default '{}';
alter table messages add column if not exists mentions_here boolean not null default false;

-- Off: my position is not shown to anyone, and I am shown nobody's (both ways).
alter table users add column if not exists read_receipts boolean not null default true;

-- One row per member and room: every message up to `through` is read. It only
-- moves forward (the `read` action's upsert keeps the greater), and outlives a
-- leave, so that a rejoin does not bring back what was read before.
create table read_marks (
  user_id    bigint not null references users (id) on delete cascade,
  room_id    text not null references rooms (id) on delete cascade,
  through    bigint not null,
  updated_at timestamptz not null default now(),
  primary key (user_id, room_id)
);
-- the other person's mark in a DM, and the cascade when a room goes
create index read_marks_room on read_marks (room_id);

-- Members from before this migration have no marks: without one, every message
-- of every room would count as unread. What they have seen is unknown, so they
-- start with everything read, as a new member of a channel does (rooms.ts).
insert into read_marks (user_id, room_id, through)
select m.user_id, m.room_id, r.last_message_id
from memberships m join rooms r on r.id = m.room_id
where r.last_message_id is not null
on conflict do nothing;
