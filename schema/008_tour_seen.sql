-- The welcome tour is shown once per account, not once per browser: the time the
-- account first finished or skipped it. Accounts that were verified before this
-- migration have had their first login, and with it the tour, so they count as
-- having seen it; unverified ones will see it after their code.
alter table users add column tour_seen_at timestamptz;
update users set tour_seen_at = verified_at where verified_at is not null;
