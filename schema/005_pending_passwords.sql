-- A one-time code activates the password given with the request that produced it:
-- the sign-up's (or, for a code sent on login, the account's) scrypt hash travels
-- on the challenge, and verify copies it to the account as it consumes the code.
-- A later sign-up for the same pending name then cannot change what an earlier
-- code activates. Null on rows from before: those activate the account's password.
alter table otp_challenges add column password_hash text;
