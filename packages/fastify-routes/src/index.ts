/**
 * @kommander/fastify-routes: a Fastify 5 plugin that mounts Kommander's node-to-node REST endpoint and
 * read-only admin endpoints into your own Fastify host.
 */
export { kommanderHttpsOptions } from './https-options.js';
export { kommanderRoutes } from './plugin.js';
export type { KommanderNode, KommanderRoutesOptions, RaftInbound } from './types.js';
