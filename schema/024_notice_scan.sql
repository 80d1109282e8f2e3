-- Email notices (E24) found from the new messages rather than from every person.
-- The minute sweep used to ask, of every user, whether anything waited for them:
-- a cost that grew with the number of people even when nobody had anything
-- waiting. Now the sweep reads the messages sent since its last look, writes down
-- who they may concern (candidates), and asks its question only of those. The
-- send path writes nothing more: the sweep reads the messages table.

-- How far the sweep has read the messages: every message up to `through` has
-- made its people candidates. One row (the key can only be true), taken
-- FOR UPDATE SKIP LOCKED so that two sweeps at once do not both read the same
-- messages. It starts at the newest message: what came before is covered by the
-- candidates written below.
create table notice_scan (
  id      boolean primary key default true check (id),
  through bigint not null
);
insert into notice_scan (through) select coalesce((select max(id) from messages), 0);

-- People who may have something waiting: the only ones the sweep asks about.
-- Written by the sweep's scan (the other member of a DM, those mentioned by
-- name or by @here, the members choosing every message of a room), by a person
-- turning notices on or to every message, by an edit that mentions someone and
-- by an unblock; removed by the sweep once nothing waits for them, their
-- notices are off or their address is unverified.
create table notice_candidates (
  user_id bigint primary key references users (id) on delete cascade
);

-- On upgrade nobody knows who has messages waiting already: everyone who may be
-- mailed is a candidate once, and the first sweep keeps only those with
-- something waiting, so a notice due before the upgrade still goes out.
insert into notice_candidates (user_id)
select id from users where notify <> 'off' and verified_at is not null;

-- The scan's "members of these rooms who want every message": through the few
-- people who chose it, rather than every membership of a large channel.
create index users_notify_all on users (id) where notify = 'all';
