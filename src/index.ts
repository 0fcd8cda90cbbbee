/** The Worker entry: the app's fetch handler and the Durable Object class. */
import { buildApp } from "./app";

export { TenantLimiter } from "./ratelimit/tenant-limiter";

const app = buildApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
