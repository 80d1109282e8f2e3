-- A ban and a join of the same person and channel, at once, settle in one order.
--
-- Under READ COMMITTED a `ban` statement does not see a membership another
-- transaction has inserted but not committed, and a `join` does not see a ban not
-- yet committed: both could succeed, leaving the person banned and a member. Both
-- inserts below take one transaction-scoped advisory lock for the (room, person)
-- pair, held until commit; statements run inside a plpgsql trigger take a fresh
-- snapshot under READ COMMITTED, so after the lock each sees what the other
-- committed. A channel membership is refused while a ban exists (SQLSTATE WB001,
-- which the server answers as "You are banned from #room."); a ban removes any
-- membership of its person. Direct-message rooms ('dm:...') are not touched.
create function ban_guard_key(room text, person bigint) returns bigint
language sql immutable as $$ select hashtextextended(room || ':' || person::text, 0) $$;

create function refuse_banned_membership() returns trigger
language plpgsql as $$
begin
  perform pg_advisory_xact_lock(ban_guard_key(new.room_id, new.user_id));
  if exists (select 1 from room_bans b where b.room_id = new.room_id and b.user_id = new.user_id) then
    raise exception 'banned from %', new.room_id using errcode = 'WB001';
  end if;
  return new;
end $$;

create trigger memberships_ban_guard before insert on memberships
  for each row when (new.room_id not like 'dm:%') execute function refuse_banned_membership();

create function remove_banned_membership() returns trigger
language plpgsql as $$
begin
  perform pg_advisory_xact_lock(ban_guard_key(new.room_id, new.user_id));
  delete from memberships m where m.room_id = new.room_id and m.user_id = new.user_id;
  return new;
end $$;

create trigger room_bans_ban_guard after insert on room_bans
  for each row execute function remove_banned_membership();

-- A person left banned and a member by the race this closes is a member no more.
delete from memberships m using room_bans b where b.room_id = m.room_id and b.user_id = m.user_id;
