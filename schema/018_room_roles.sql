-- Channel directory, roles, private channels and moderation (E21,
-- functions/core/moderation.ts and directory.ts).

-- A channel's shown name once renamed (null: its id), its topic, whether it is
-- private (left out of the directory, joined only by invitation), and its owner.
-- The id never changes: every frame, membership and message keeps naming the
-- room by it, and a rename is one row's update.
alter table rooms
  add column name text check (name ~ '^[a-z0-9_-]{1,32}$'),
  add column topic text not null default '' check (char_length(topic) <= 250),
  add column private boolean not null default false,
  add column owner_id bigint references users (id) on delete set null;
-- One channel per shown name. A new channel's id is its name; a rename is
-- checked against ids as well (moderation.ts), and this index settles a race.
create unique index rooms_channel_name on rooms ((coalesce(name, id))) where kind = 'channel';
-- the directory's scan: public channels by shown name
create index rooms_directory on rooms ((coalesce(name, id))) where kind = 'channel' and not private;
-- deleting an account finds the channels it owns
create index rooms_owner on rooms (owner_id) where owner_id is not null;

-- Channels from before: their creator owns them where one was recorded
-- (migration 012), else their earliest member, else nobody. `general` is
-- everyone's: nobody owns it.
update rooms r set owner_id = coalesce(
  (select u.id from users u where u.id = r.created_by),
  (select m.user_id from memberships m where m.room_id = r.id order by m.joined_at, m.user_id limit 1))
where r.kind = 'channel' and r.id <> 'general';

-- A moderator of the room: chosen by its owner. Leaving, being removed or
-- banned ends it with the membership row.
alter table memberships add column moderator boolean not null default false;

-- Who may not rejoin (or be invited to) a channel until a moderator unbans them.
create table room_bans (
  room_id   text not null references rooms (id) on delete cascade,
  user_id   bigint not null references users (id) on delete cascade,
  banned_by bigint references users (id) on delete set null,
  banned_at timestamptz not null default now(),
  primary key (room_id, user_id)
);
create index room_bans_user on room_bans (user_id);

-- A message removed by a moderator or an administrator rather than its author:
-- their username when it was removed (kept as text, so it survives their
-- account). Null for every other message, tombstones included.
alter table messages add column removed_by text;
