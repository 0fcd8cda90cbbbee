/**
 * Which runtime APIs a request calls, and what each costs: reads the measured dump of a target that
 * `node bench/ablate.mjs --instrument callgrind --keep` ran (`<tmp>/callgrind/<target>/out.1`) and lists every
 * call from JavaScript into workerd's C++ (a method, a getter, a constructor: jsg's callbacks), per request,
 * with the instructions it cost inclusive of what it called. The gateway's cost above `ref-pass` is mostly such
 * calls (a `Headers.get`, a getter, an `addEventListener`), not its own JavaScript: this is the list to shorten.
 *
 *   node bench/api-calls.mjs <dump> [--requests 600] [--against <dump of another target>]
 *
 * `--against` adds the other dump's counts beside (e.g. ref-pass, or the same target before a change).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: { requests: { type: "string", default: "600" }, against: { type: "string" } },
});
if (positionals.length !== 1) throw new Error("usage: node bench/api-calls.mjs <callgrind dump> [--requests N] [--against <dump>]");
const REQUESTS = Number(opt.requests);

/** Calls and inclusive cost per callee, from callgrind's format: `cfn=` names a callee, `calls=` counts, the next line costs. */
function callees(path) {
  const names = new Map();
  const totals = new Map();
  let callee = null;
  let costNext = false;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (costNext) {
      const cost = Number(line.split(" ")[1] ?? 0);
      totals.get(callee).instructions += cost;
      costNext = false;
      callee = null;
      continue;
    }
    const named = /^c?fn=\((\d+)\)(?: (.*))?$/.exec(line);
    if (named) {
      if (named[2] !== undefined) names.set(named[1], named[2]);
      if (line.startsWith("cfn=")) callee = named[1];
    } else if (line.startsWith("calls=") && callee !== null) {
      const entry = totals.get(callee) ?? { calls: 0, instructions: 0 };
      entry.calls += Number(line.slice(6).split(" ")[0]);
      totals.set(callee, entry);
      costNext = true;
    }
  }
  const out = new Map();
  for (const [id, t] of totals) {
    const name = apiName(names.get(id) ?? id);
    if (name === null) continue;
    const sum = out.get(name) ?? { calls: 0, instructions: 0 };
    sum.calls += t.calls;
    sum.instructions += t.instructions;
    out.set(name, sum);
  }
  return out;
}

/**
 * `Headers.get` from a jsg callback's (mangled) name: the class is the first length-prefixed name after
 * `api`, the member the first lower-case one after `NAME`; a constructor is `new <Class>`. Null for anything else.
 */
function apiName(symbol) {
  const ctor = /ConstructorCallback<.*?workerd::api::([\w:]+),/.exec(symbol);
  if (ctor) return `new ${ctor[1].replace(/^url::/, "")}`;
  // `_ZZ...`: a lambda inside a callback, already counted in the callback's inclusive cost.
  if (symbol.startsWith("_ZZ") || !/(MethodCallback|PropertyGetterCallback|PropertySetterCallback|StaticMethodCallback)/.test(symbol)) return null;
  const at = symbol.indexOf("api");
  const cls = /^api(?:3url)?(\d+)(\w+)/.exec(symbol.slice(at));
  const owner = symbol.includes("7Headers11KeyIterator") ? "Headers iterator" : cls ? cls[2].slice(0, Number(cls[1])) : "?";
  // Itanium mangling: each name is its length, then that many characters; the member is the first one that
  // starts lower-case after NAME (jsg's registration macro), skipping the `kj` namespace and `callback`.
  const tail = symbol.slice(symbol.indexOf("NAME"));
  let member = "?";
  for (const m of tail.matchAll(/(\d+)(?=[a-z])/g)) {
    const name = tail.slice(m.index + m[1].length, m.index + m[1].length + Number(m[1]));
    if (name !== "kj" && name !== "v8" && !name.startsWith("callback")) {
      member = name;
      break;
    }
  }
  const getter = symbol.includes("PropertyGetterCallback");
  const shown = getter ? member.replace(/^get(?=[A-Z])/, "").replace(/^./, (c) => c.toLowerCase()) : member.replace(/_$/, "");
  return `${owner}.${shown}${getter ? " (getter)" : symbol.includes("PropertySetterCallback") ? " (setter)" : "()"}`;
}

const main = callees(positionals[0]);
const other = opt.against ? callees(opt.against) : new Map();
const rows = [...new Set([...main.keys(), ...other.keys()])]
  .map((name) => ({ name, a: main.get(name) ?? { calls: 0, instructions: 0 }, b: other.get(name) ?? { calls: 0, instructions: 0 } }))
  .filter((r) => r.a.calls + r.b.calls >= REQUESTS * 0.05)
  .sort((x, y) => y.a.instructions - x.a.instructions);
const k = (n) => (n / REQUESTS / 1000).toFixed(1);
const per = (n) => (n / REQUESTS).toFixed(2);
console.log(`| runtime API | calls/req | k instr/req (inclusive) | k/call |${opt.against ? " against: calls/req | k instr/req |" : ""}`);
console.log(`|---|--:|--:|--:|${opt.against ? "--:|--:|" : ""}`);
let sum = 0;
let sumOther = 0;
for (const { name, a, b } of rows) {
  sum += a.instructions;
  sumOther += b.instructions;
  const each = a.calls ? (a.instructions / a.calls / 1000).toFixed(2) : "–";
  console.log(`| ${name} | ${per(a.calls)} | ${k(a.instructions)} | ${each} |${opt.against ? ` ${per(b.calls)} | ${k(b.instructions)} |` : ""}`);
}
console.log(`| all of them | | ${k(sum)} | |${opt.against ? ` | ${k(sumOther)} |` : ""}`);
