// The ports on Lambda: RDS Proxy via the secret, API Gateway's management API,
// SES. Built once per sandbox by runtime.getDeps().
import type { Deps } from '../core/ports.js';

export async function createAwsDeps(): Promise<Deps> {
  throw new Error('AWS adapters are not wired yet');
}
