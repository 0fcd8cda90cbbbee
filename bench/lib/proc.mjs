/**
 * Process plumbing shared by the harness: start children pinned to a core, talk to them over IPC, read their
 * CPU time and memory from /proc, and stop every one of them by PID, on success and on every error path.
 */
import { spawn, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/** Kernel clock ticks per second: /proc/<pid>/stat reports CPU time in these units. */
export const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

/** Every PID the harness started and has not seen exit. */
const owned = new Map(); // pid -> label

export function own(pid, label) {
  if (pid) owned.set(pid, label);
}

export function disown(pid) {
  owned.delete(pid);
}

export function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false; // ESRCH: no such process
  }
}

/**
 * Spawns `node script` pinned to `core` (taskset execs in place, so the child's PID is node's own), with an
 * IPC channel when asked. stdout is piped when `capture` is set, otherwise inherited.
 */
export function spawnNode(script, { core, args = [], env = {}, ipc = false, capture = false, label = script } = {}) {
  const node = process.execPath; // the pinned Node 22 (npm scripts put node_modules/.bin first on PATH)
  const [cmd, argv] = core === undefined ? [node, [script, ...args]] : ["taskset", ["-c", String(core), node, script, ...args]];
  const stdio = ["ignore", capture ? "pipe" : "inherit", "inherit"];
  if (ipc) stdio.push("ipc");
  const child = spawn(cmd, argv, { stdio, env: { ...process.env, ...env } });
  own(child.pid, label);
  child.on("exit", () => disown(child.pid));
  return child;
}

/** Request/response over a child's IPC channel: every message carries an id, the reply echoes it. */
let nextId = 1;
export async function rpc(child, msg, timeoutMs = 60_000) {
  const id = nextId++;
  const reply = waitMessage(child, (m) => m?.id === id, timeoutMs, `IPC ${msg.op}`);
  child.send({ ...msg, id });
  const m = await reply;
  if (m.error) throw new Error(m.error);
  return m;
}

/** Waits for the first IPC message matching `pred` (used for "ready" announcements and rpc replies). */
export function waitMessage(child, pred, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`${what}: no answer after ${timeoutMs} ms`)), timeoutMs);
    const onMsg = (m) => pred(m) && done(null, m);
    const onExit = (code) => done(new Error(`${what}: exited with ${code}`));
    function done(err, m) {
      clearTimeout(timer);
      child.off("message", onMsg);
      child.off("exit", onExit);
      if (err) reject(err);
      else resolve(m);
    }
    child.on("message", onMsg);
    child.on("exit", onExit);
  });
}

/** SIGTERM, then SIGKILL after `graceMs`: one PID at a time, never by name. */
export async function stopPid(pid, graceMs = 3000) {
  if (!alive(pid)) return disown(pid);
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    // exited meanwhile
  }
  for (let waited = 0; waited < graceMs && alive(pid); waited += 50) await sleep(50);
  if (alive(pid)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // exited meanwhile
    }
  }
  disown(pid);
}

/** Stops everything still owned, children first in start order reversed. */
export async function stopAll() {
  for (const pid of [...owned.keys()].reverse()) await stopPid(pid);
}

/** Last resort on a synchronous exit path (uncaught error, process.exit): SIGKILL whatever is left. */
export function killAllSync() {
  for (const pid of owned.keys()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  owned.clear();
}

/** CPU seconds (user + system, all threads) a process has used so far. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // comm may contain spaces
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14 and 15)
}

/**
 * CPU seconds one core has spent busy (any process, interrupts included) and stolen by the hypervisor, from
 * /proc/stat: what else ran on the server core shows up as busy time that is not the target's.
 */
export function coreSeconds(core) {
  const line = readFileSync("/proc/stat", "utf8").split("\n").find((l) => l.startsWith(`cpu${core} `));
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return { busy: (user + nice + system + irq + softirq) / CLK_TCK, steal: steal / CLK_TCK };
}

/** Resident set size in MiB. */
export function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Pins every thread of an already running process to `core`. */
export function pin(pid, core) {
  if (core !== undefined) execFileSync("taskset", ["-a", "-p", "-c", String(core), String(pid)], { stdio: "ignore" });
}
