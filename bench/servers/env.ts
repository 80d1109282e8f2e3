// The settings every chat server under benchmark runs with (bench/run.ts, bench/ramp.ts).
export const BENCH_SERVER_ENV: Record<string, string> = {
  // The cost of a password hash is a parameter stored with it; the bench signs up thousands.
  SCRYPT_N: '1024',
  // Senders here go far beyond a person's pace; the limit is still checked on every send.
  MESSAGES_PER_MINUTE: '6000000',
  MESSAGE_BURST: '100000',
  USER_MESSAGES_PER_MINUTE: '6000000',
  USER_MESSAGE_BURST: '100000',
  // Every load-generator socket comes from 127.0.0.1: the per-address budgets
  // (and each socket's frame budget) would stop the load, not measure it.
  // They are still checked on every request.
  AUTH_PER_IP_PER_MINUTE: '10000000',
  AUTH_PER_MINUTE: '10000000',
  MAIL_PER_IP_PER_HOUR: '10000000',
  MAIL_PER_HOUR: '10000000',
  HASH_QUEUE: '100000',
  HASH_PER_NETWORK: '100000',
  LOGINS_PER_USER_PER_HOUR: '100000',
  ANONYMOUS_CONNECTIONS_PER_ADDRESS: '100000',
  CONNECTIONS_PER_ADDRESS_PER_MINUTE: '10000000',
  TCP_CONNECTIONS_PER_ADDRESS: '100000',
  ANONYMOUS_SOCKETS: '100000',
  FRAMES_BURST: '100000',
  FRAMES_PER_SECOND: '1000000',
  READ_BURST: '100000',
  READS_PER_MINUTE: '10000000',
  JOINS_PER_MINUTE: '100000',
};
