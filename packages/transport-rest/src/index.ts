/**
 * @kommander/transport-rest: Kommander's node-to-node Transport over HTTP with JSON batches. Its
 * receiving side is the `@kommander/fastify-routes` plugin, registered with `inbound: transport`.
 */
export { RestTransport } from './rest-transport.js';
export type { RestTransportOptions, RestTransportStats } from './rest-transport.js';
