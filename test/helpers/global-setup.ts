import { ensureTemplate } from './pglite-template.js';

export default async function setup() {
  if (!process.env.TEST_DATABASE_URL) await ensureTemplate();
}
