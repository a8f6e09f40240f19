/**
 * Benchmark of the candidates query (issue 4, item 7): a store with 100k candidates, the API server in its
 * own process, a writer process storing one candidate every 10 ms through the runner's write path
 * (insert pending, then store the result with the incremental front update: two transactions), and
 * autocannon (100 connections, 20 s, loopback only) against `pareto=true` and against an objective range
 * filter. Prints one JSON object.
 *
 *   bun apps/api/bench/candidates.ts [--candidates N] [--duration S] [--connections C] [--writer-sync normal|full] [--no-cache]
 *
 * The writer uses synchronous=NORMAL by default: with FULL each transaction waits for an fsync (~6 ms on
 * this machine's disk), so two per candidate cannot keep a 10 ms cadence. Readers never wait for the
 * writer in WAL mode either way; `--writer-sync full` measures the runner's default durability.
 * `--no-cache` turns off the server's page cache (every request runs the query).
 *
 * Roles (internal): `server DB` and `writer DB SEARCH_ID` run the other two processes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { closeDb, openDb } from "@nas/db";
import { candidatesByKey, createSearch, getSearch, insertPending, recomputeFront, storeOutcome } from "@nas/store";
import { mulberry32 } from "@nas/store/src/testing.ts";
import { serve } from "../src/serve.ts";

const self = fileURLToPath(import.meta.url);
const WRITE_INTERVAL_MS = 10;

/** A synthetic candidate: loss falls as params grow, with noise; `improve` puts it just under the curve. */
function synthetic(i: number, rand: () => number, improve = false) {
  const params = 0.2 + 0.8 * rand();
  const curve = 2 + 2 * Math.exp(-4 * (params - 0.2));
  const loss = improve ? curve - 0.05 - 0.05 * rand() : curve + 0.6 * rand();
  const mlp = Array.from({ length: 5 }, () => [172, 144, 128, 112, 80][Math.floor(rand() * 5)]);
  const kv = Array.from({ length: 5 }, () => [4, 3, 2][Math.floor(rand() * 3)]);
  return {
    key: `bench-${i}-L11111|M${mlp.join(",")}|K${kv.join(",")}`,
    genome: Array.from({ length: 13 }, () => Math.floor(rand() * 5)),
    subnet: { layers: [true, true, true, true, true], mlp, kvHeads: kv },
    objectives: [loss, params],
    metrics: { wikitext: { ppl: Math.exp(loss) }, lambada: { acc: 1 / loss } },
  };
}

function buildStore(dbPath: string, n: number): number {
  const db = openDb(dbPath, { synchronous: "normal" });
  const search = createSearch(db, {
    name: "bench",
    model: { path: "shared/models/stories260K-hf", hash: "b".repeat(64) },
    space: { kind: "bench" },
    objectives: [
      { name: "loss", direction: "min" },
      { name: "params", direction: "min" },
    ],
    algorithm: "nsga2",
    options: { population: 50, evaluations: n },
    seed: 1,
    evaluator: { kind: "fake" },
  });
  const rand = mulberry32(1);
  const insert = db.$client.prepare(
    `INSERT INTO candidates (search_id, key, genome, subnet, generation, status, objectives, o0, o1, metrics, eval_ms, device, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, 'done', ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const now = Date.now();
  db.$client.transaction(() => {
    for (let i = 0; i < n; i++) {
      const c = synthetic(i, rand);
      insert.run(
        search.id, c.key, JSON.stringify(c.genome), JSON.stringify(c.subnet), Math.floor(i / 50), JSON.stringify(c.objectives),
        c.objectives[0], c.objectives[1], JSON.stringify(c.metrics), 1000 + 500 * rand(), JSON.stringify({ adapter: "bench" }), now, now,
      );
    }
  })();
  recomputeFront(db, search);
  db.$client.exec("ANALYZE");
  closeDb(db);
  return search.id;
}

async function runServer(dbPath: string, cachePages: boolean): Promise<void> {
  const server = await serve({ dbPath, port: 0, cachePages });
  console.log(JSON.stringify({ url: server.url }));
  process.on("SIGTERM", () => void server.stop().then(() => process.exit(0)));
}

async function runWriter(dbPath: string, searchId: number, synchronous: "normal" | "full"): Promise<void> {
  const db = openDb(dbPath, { synchronous });
  const search = getSearch(db, searchId);
  const rand = mulberry32(2);
  let inserted = 0;
  let errors = 0;
  let lateMs = 0;
  let stop = false;
  process.on("SIGTERM", () => (stop = true));
  const start = performance.now();
  for (let i = 0; !stop; i++) {
    const due = start + i * WRITE_INTERVAL_MS;
    const wait = due - performance.now();
    // Always yield to the event loop (even when late) so SIGTERM is seen.
    await Bun.sleep(Math.max(0, wait));
    if (wait < 0) lateMs = Math.max(lateMs, -wait);
    try {
      const c = synthetic(1_000_000 + i, rand, rand() < 0.02);
      insertPending(db, search.id, [{ key: c.key, genome: c.genome, subnet: c.subnet, generation: 10_000 }]);
      const id = candidatesByKey(db, search.id, [c.key]).get(c.key)!.id;
      storeOutcome(db, search, id, { objectives: c.objectives, metrics: c.metrics }, 1000, { adapter: "bench-writer" });
      inserted++;
    } catch (e) {
      errors++;
      console.error((e as Error).message);
    }
  }
  const seconds = (performance.now() - start) / 1000;
  console.log(JSON.stringify({ inserted, errors, perSecond: Math.round((inserted / seconds) * 10) / 10, maxLateMs: Math.round(lateMs) }));
  closeDb(db);
  process.exit(0);
}

async function autocannon(url: string, connections: number, duration: number) {
  const node = Bun.which("node");
  if (!node) throw new Error("autocannon needs node on PATH");
  const bin = fileURLToPath(new URL("../../../node_modules/autocannon/autocannon.js", import.meta.url));
  const proc = Bun.spawn([node, bin, "-c", String(connections), "-d", String(duration), "-j", url], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`autocannon exited ${code}: ${err}`);
  const r = JSON.parse(out);
  return {
    url: url.replace(/^http:\/\/[^/]+/, ""),
    requests: r.requests.total,
    throughputRps: r.requests.average,
    latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    bytesPerSecond: r.throughput.average,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      candidates: { type: "string", default: "100000" },
      duration: { type: "string", default: "20" },
      connections: { type: "string", default: "100" },
      "writer-sync": { type: "string", default: "normal" },
      "no-cache": { type: "boolean", default: false },
    },
  });
  const n = Number(values.candidates);
  const duration = Number(values.duration);
  const connections = Number(values.connections);
  const writerSync = values["writer-sync"] === "full" ? "full" : "normal";
  const dir = mkdtempSync(join(tmpdir(), "nas-bench-"));
  const dbPath = join(dir, "bench.db");
  try {
    const t0 = performance.now();
    const searchId = buildStore(dbPath, n);
    const buildS = (performance.now() - t0) / 1000;
    const server = Bun.spawn([process.execPath, self, "server", dbPath, values["no-cache"] ? "no-cache" : "cache"], { stdout: "pipe", stderr: "inherit" });
    const reader = server.stdout.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    const base = JSON.parse(first.split("\n")[0]).url as string;
    const writer = Bun.spawn([process.execPath, self, "writer", dbPath, String(searchId), writerSync], { stdout: "pipe", stderr: "inherit" });
    const pareto = `${base}/searches/${searchId}/candidates?pareto=true&sort=loss&limit=50`;
    const range = `${base}/searches/${searchId}/candidates?range=loss:2.5:2.7&sort=loss&limit=50`;
    // Sanity and warm-up: both queries answer 200 with data.
    for (const url of [pareto, range]) {
      const res = await fetch(url);
      const body = (await res.json()) as { items: unknown[] };
      if (res.status !== 200 || body.items.length === 0) throw new Error(`${url} -> ${res.status}`);
    }
    await autocannon(pareto, 10, 2);
    const load = loadavg()[0];
    const runs = { pareto: await autocannon(pareto, connections, duration), range: await autocannon(range, connections, duration) };
    writer.kill("SIGTERM");
    const writerStats = JSON.parse((await new Response(writer.stdout).text()).trim());
    const check = openDb(dbPath, { readonly: true });
    const frontSize = check.$client.query<{ n: number }, [number]>("SELECT count(*) AS n FROM candidates WHERE search_id = ? AND on_front = 1").get(searchId)!.n;
    closeDb(check);
    server.kill("SIGTERM");
    await server.exited;
    console.log(
      JSON.stringify({
        bench: "api candidates query",
        candidates: n,
        frontSize,
        connections,
        durationS: duration,
        pageCache: !values["no-cache"],
        buildStoreS: Math.round(buildS * 10) / 10,
        writer: { intervalMs: WRITE_INTERVAL_MS, synchronous: writerSync, ...writerStats },
        pareto: runs.pareto,
        range: runs.range,
        machine: { cpus: cpus().length, cpu: cpus()[0]?.model, loadAvg1mAtStart: Math.round(load * 100) / 100, runtime: `bun ${Bun.version}` },
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const role = process.argv[2];
if (role === "server") await runServer(process.argv[3], process.argv[4] !== "no-cache");
else if (role === "writer") await runWriter(process.argv[3], Number(process.argv[4]), process.argv[5] === "full" ? "full" : "normal");
else await main();
