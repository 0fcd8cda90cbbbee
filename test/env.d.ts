// Bindings that exist only in the test configuration (vitest.config.ts), on top of the generated Env.
declare namespace Cloudflare {
  interface Env {
    /** Origin of the test JWKS host (test/support/jwks-server.mjs). */
    TEST_JWKS_ORIGIN: string;
  }
}
