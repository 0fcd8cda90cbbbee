/** The Worker entry: the app's fetch handler and the Durable Object classes. */
import { buildApp } from "./app";

export { KeyDirectory } from "./auth/key-directory";
export { TenantLimiter } from "./ratelimit/tenant-limiter";

const app = buildApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
