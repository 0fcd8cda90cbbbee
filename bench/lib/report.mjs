/**
 * Ratios against the references and the Markdown report. Ratios, not absolute numbers, are the result:
 * this machine is shared and noisy, but two runs measured minutes apart in the same process drift together.
 */

/** Adds vsPass / vsDo ratios to each measured result: CPU per request and throughput against the same shape. */
export function addRatios(results) {
  const ref = (target, shape) => results.find((r) => r.target === target && r.compareTo === shape && r.cpuUsPerReq);
  for (const r of results) {
    if (!r.cpuUsPerReq) continue;
    for (const [key, target] of [["vsPass", "ref-pass"], ["vsDo", "ref-do"]]) {
      const base = ref(target, r.compareTo);
      r[key] = base ? { cpu: r.cpuUsPerReq / base.cpuUsPerReq, rps: r.rps / base.rps, baseline: base.name } : null;
    }
  }
  return results;
}

const f = (v, digits = 0) => (v === null || v === undefined || Number.isNaN(v) ? "–" : v.toFixed(digits));
const x = (v) => (v === null || v === undefined ? "–" : `${v.toFixed(2)}×`);

function row(r) {
  if (r.skipped) return `| ${r.name} | ${r.connections ?? ""} | skipped | | | | | | | | | | | | ${r.skipped} |`;
  const statuses = Object.entries(r.statusCounts).map(([s, n]) => `${s}×${n}`).join(", ") || "none";
  const rss = `${f(r.rss.before)}→${f(r.rss.after)} (${f(r.rss.peak)})`;
  const up = r.upstream ? `${r.upstream.hits} / ${r.upstream.duplicates} / ${r.upstream.lost ?? "–"}` : "–";
  return [
    "",
    r.name,
    r.connections,
    f(r.rps),
    f(r.latencyMs.p50, 2),
    f(r.latencyMs.p99, 2),
    statuses,
    f(r.cpuUsPerReq),
    x(r.vsPass?.cpu),
    x(r.vsDo?.cpu),
    x(r.vsPass?.rps),
    x(r.vsDo?.rps),
    `${f(r.serverCoreBusy * 100)}% / ${f(r.loadCoreBusy * 100)}%`,
    rss,
    up,
    r.notes.join("; "),
    "",
  ].join(" | ").trim();
}

export function markdown({ meta, results }) {
  const lines = [
    `# Gateway benchmark (${meta.mode})`,
    "",
    `- Date: ${meta.date}`,
    `- Machine: ${meta.machine.cpuModel} × ${meta.machine.cpus} logical CPUs, ${meta.machine.memGiB} GiB RAM, ${meta.machine.os}; load average at start ${meta.machine.loadavg}`,
    `- Versions: Node ${meta.versions.node}, workerd ${meta.versions.workerd}, wrangler ${meta.versions.wrangler} (bundle), autocannon ${meta.versions.autocannon}`,
    `- Runtime: each Worker in its own \`workerd serve\` process (generated config, HTTP socket straight to the Worker) pinned to CPU ${meta.cores.server}; load generator and upstream pinned to CPU ${meta.cores.load}`,
    `- Gateway: ${meta.gateway}`,
    `- Each scenario: ${meta.warmupSeconds} s warm-up (not measured), then ${meta.durationSeconds} s measured (autocannon stops on its next 1 s tick, or at the request cap)`,
    "",
    "| scenario | conns | req/s | p50 ms | p99 ms | statuses | CPU µs/req | CPU ×pass | CPU ×DO | req/s ×pass | req/s ×DO | busy server / load core | RSS MiB before→after (peak) | upstream hits / dup / lost | notes |",
    "|---|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|---|---|---|",
    ...results.map(row),
    "",
    "CPU µs/req: user+system CPU of the target's workerd process (/proc) over the measured window, divided by responses.",
    "×pass / ×DO: this scenario against ref-pass / ref-do in the same shape (`compareTo`); CPU > 1 costs more, req/s < 1 is slower.",
    "busy: CPU seconds per wall second of the target's workerd (server core) and of autocannon + upstream (load core);",
    "a load core near 100% with a server core well below it means the load side, not the Worker, limited req/s.",
  ];
  return lines.join("\n") + "\n";
}
