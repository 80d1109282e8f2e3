// $disconnect: delete the connection row; roommates hear if the user went offline.
import { closeConnection } from './core/connections.js';
import { lifecycleRoute } from './route.js';

export const handler = lifecycleRoute((deps, event) => closeConnection(deps, event.requestContext.connectionId));
