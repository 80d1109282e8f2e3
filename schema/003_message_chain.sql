-- The id of the message before the last one in each room, set by the same update
-- that hands out the new id. A live `message` frame carries it as `prev`, so a
-- client can tell whether it has every message up to the new one (a gap-free
-- cursor for catch-up) even when fan-outs of two sends arrive out of order.
alter table rooms add column prev_message_id bigint;
