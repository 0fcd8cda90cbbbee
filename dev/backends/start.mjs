#!/usr/bin/env node
// DEV ONLY — never deployed. CLI for the demo product backends:
//   node dev/backends/start.mjs [--psa-port 8701] [--rmm-port 8702] [--quiet] [--exit-on-stdin-end]
// Prints `backends ready psa=<port> rmm=<port>` once both listen (port 0 picks a free port), logs one line
// per request unless --quiet, and exits cleanly on SIGTERM/SIGINT.

import { parseArgs } from "node:util";
import { startBackends } from "./backends.mjs";

export { startBackends };

const CLOSE_BOUND_MS = 3000;

function port(value, fallback, flag) {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    process.stderr.write(`${flag} must be a port number from 0 to 65535, got ${JSON.stringify(value)}\n`);
    process.exit(2);
  }
  return n;
}

async function main() {
  const { values } = parseArgs({
    options: {
      "psa-port": { type: "string" },
      "rmm-port": { type: "string" },
      quiet: { type: "boolean", default: false },
      // For a parent that pipes our stdin: when the parent dies, even by SIGKILL, the pipe ends and so do we.
      "exit-on-stdin-end": { type: "boolean", default: false },
    },
  });
  const backends = await startBackends({
    psaPort: port(values["psa-port"], 8701, "--psa-port"),
    rmmPort: port(values["rmm-port"], 8702, "--rmm-port"),
    log: !values.quiet,
  });

  let stopping = false;
  const stop = (why) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`backends stopping (${why})\n`);
    // Bounded: a stuck connection must not keep the process alive past a few seconds.
    setTimeout(() => process.exit(0), CLOSE_BOUND_MS).unref();
    backends.close().then(() => process.exit(0));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  if (values["exit-on-stdin-end"]) {
    process.stdin.on("end", () => stop("stdin ended"));
    process.stdin.resume();
  }
  process.stdout.write(`backends ready psa=${backends.psaPort} rmm=${backends.rmmPort}\n`);
}

if (import.meta.filename === process.argv[1]) {
  main().catch((err) => {
    process.stderr.write(`backends failed to start: ${err.message}\n`);
    process.exit(1);
  });
}
