// The service worker, served as /sw.js (web/build.ts bundles it, unhashed, so
// its URL stays the same across releases): one import per feature, each
// installing its own handlers.
import './shell.js';
import { installPush } from './push.js';

declare const self: Parameters<typeof installPush>[0];

installPush(self);
