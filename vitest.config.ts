import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 90_000,
    // expect.poll waits for something that eventually happens (a notification
    // shown, a list re-rendered); its default of 1 s is too short on a loaded
    // two-core machine. A poll that matches returns at once, so this only
    // lengthens a failure.
    expect: { poll: { timeout: 10_000 } },
    // two cores: more workers only contend
    maxWorkers: 2,
  },
});
