/** Pieces the table run (bench/run.mjs) and the ablation run (bench/ablate.mjs) share. */
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { killAllSync, spawnNode } from "./proc.mjs";

const libDir = dirname(fileURLToPath(import.meta.url));

/** The bench's ES256 signing key: its JWKS (served by the local upstream) and a signer for session JWTs. */
export async function benchKeys() {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: "bench-1", alg: "ES256", use: "sig" }] };
  const signJwt = (claims, { expiresIn = "1h", issuer, audience } = {}) => {
    let jwt = new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: "bench-1", typ: "JWT" }).setIssuedAt().setExpirationTime(expiresIn);
    if (issuer) jwt = jwt.setIssuer(issuer);
    if (audience) jwt = jwt.setAudience(audience);
    return jwt.sign(privateKey);
  };
  return { jwks, signJwt };
}

/**
 * One autocannon process (lib/load.mjs) pinned to `core`; `onStart` fires when autocannon starts sending
 * (the measured window opens). Resolves the load generator's result line.
 */
export function runLoad(job, core, onStart = () => {}) {
  const child = spawnNode(join(libDir, "load.mjs"), { core, args: [JSON.stringify(job)], capture: true, label: "autocannon" });
  const watchdog = setTimeout(() => child.kill("SIGKILL"), (job.duration + 30) * 1000);
  let result, buf = "";
  child.stdout.on("data", (d) => {
    buf += d;
    for (let i; (i = buf.indexOf("\n")) >= 0; buf = buf.slice(i + 1)) {
      const msg = JSON.parse(buf.slice(0, i));
      if (msg.event === "start") onStart();
      else result = msg;
    }
  });
  return new Promise((resolve, reject) =>
    child.on("close", (code) => {
      clearTimeout(watchdog);
      if (result) resolve(result);
      else reject(new Error(`load generator for ${job.scenario} exited with ${code} and no result`));
    }),
  );
}

/**
 * Runs a bench entry's `main` with its cleanup: `shutdown` runs at the end, on errors, and on Ctrl-C/SIGTERM
 * (then the process exits 130); every child still owned is killed synchronously at exit as a last resort.
 * Returns `interrupted()`, for loops to stop early once a signal came.
 */
export function withCleanup(shutdown) {
  let interrupted = false;
  process.on("exit", killAllSync);
  for (const sig of ["SIGINT", "SIGTERM"]) {
    process.on(sig, () => {
      interrupted = true;
      console.error(`\n${sig}: stopping everything`);
      void shutdown().finally(() => process.exit(130));
    });
  }
  return {
    interrupted: () => interrupted,
    async run(main) {
      try {
        await main();
      } catch (err) {
        if (!interrupted) console.error(err?.stack ?? err);
        process.exitCode = 1;
      } finally {
        await shutdown();
      }
    },
  };
}
