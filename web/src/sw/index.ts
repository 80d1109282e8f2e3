// The service worker (/sw.js, built by web/build.ts): one import per feature.
import './shell.js';
