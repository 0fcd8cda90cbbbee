/**
 * CPU profiles of a workerd process through its V8 inspector (`workerd serve --inspector-addr`): the bench's
 * way to say where the gateway's CPU per request goes. `--profile <regex>` in run.mjs profiles the measured
 * window of the matching gateway scenarios and writes `<scenario>.cpuprofile` (open it in Chrome DevTools)
 * plus a self-time summary. The inspector adds its own overhead, so profiled runs are not reported as figures.
 */

/** Opens a DevTools-protocol session to the first inspectable target of the workerd at `inspectorPort`. */
export async function connect(inspectorPort) {
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json();
  const target = targets.find((t) => t.webSocketDebuggerUrl);
  if (!target) throw new Error("profiler: no inspectable target");
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error("profiler: inspector connection failed"));
  });
  let id = 0;
  const pending = new Map();
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.id !== undefined && pending.has(msg.id)) {
      const { resolve, reject } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(`profiler: ${msg.error.message}`));
      else resolve(msg.result);
    }
  };
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      id += 1;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 100 });
  return {
    start: () => send("Profiler.start"),
    stop: async () => (await send("Profiler.stop")).profile,
    close: () => ws.close(),
  };
}

/** Self time per function (name, file, line), largest first, as fractions of all samples. */
export function selfTimeSummary(profile, top = 25) {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  for (const sample of profile.samples) counts.set(sample, (counts.get(sample) ?? 0) + 1);
  const total = profile.samples.length || 1;
  const byFunction = new Map();
  for (const [nodeId, n] of counts) {
    const f = byNode.get(nodeId).callFrame;
    const file = f.url.split("/").pop() || "(native)";
    const key = `${f.functionName || "(anonymous)"}  ${file}:${f.lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + n);
  }
  return [...byFunction.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([fn, n]) => ({ fn, share: n / total }));
}
