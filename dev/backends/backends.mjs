// DEV ONLY — never deployed. Starts the demo PSA and RMM backends in this process, for the CLI (start.mjs)
// and for test harnesses that want them without a child process.

import { createBackendServer } from "./backend-server.mjs";
import { psaRoutes } from "./psa.mjs";
import { rmmRoutes } from "./rmm.mjs";

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server.address().port);
    });
  });
}

function close(server) {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive sockets and in-flight `slow`/`large` faults would otherwise hold close() open.
    server.closeAllConnections();
  });
}

/**
 * Starts both backends on loopback. A port of 0 picks a free one; the resolved ports are returned with
 * `close()`, which stops both servers and ends every open connection. Each call gets empty, private state.
 */
export async function startBackends({ psaPort = 8701, rmmPort = 8702, host = "127.0.0.1", log = false } = {}) {
  const psa = createBackendServer({ backend: "psa", routes: psaRoutes(), log });
  const rmm = createBackendServer({ backend: "rmm", routes: rmmRoutes(), log });
  const closeAll = () => Promise.all([close(psa), close(rmm)]).then(() => undefined);
  try {
    const [boundPsa, boundRmm] = await Promise.all([listen(psa, psaPort, host), listen(rmm, rmmPort, host)]);
    return { psaPort: boundPsa, rmmPort: boundRmm, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
