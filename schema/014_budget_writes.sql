-- Every send charges the sender's bucket, and every other action a bucket of its
-- own: rate_budgets is rewritten far more often than it is swept. With an index on
-- updated_at no rewrite could be a HOT update, so each one added an entry to both
-- indexes (and, on the embedded database, which has no autovacuum, they only grew).
-- Without it a rewrite touches the row alone; the sweep, once a minute, reads the
-- table whole instead, which for one small row per user and action is cheap.
drop index if exists rate_budgets_updated;
alter table rate_budgets set (fillfactor = 70);
