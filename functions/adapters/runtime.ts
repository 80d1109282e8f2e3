// Where a handler finds its ports. The local server installs its own (sockets in
// this process, embedded database, outbox); on Lambda they are built on first use
// from config and kept for the life of the sandbox.
import type { Deps } from '../core/ports.js';

let installed: Deps | undefined;
let building: Promise<Deps> | undefined;

export function installDeps(deps: Deps | undefined): void {
  installed = deps;
  building = undefined;
}

export async function getDeps(): Promise<Deps> {
  if (installed) return installed;
  // Imported lazily so the local server never loads the AWS SDK, and Lambda
  // bundles never contain the embedded database.
  building ??= import('./aws.js').then((m) => m.createAwsDeps());
  return (installed = await building);
}
