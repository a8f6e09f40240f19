/**
 * Crash test (issue 4, item 3): a worker process running NSGA-II with the deterministic fake evaluator is
 * SIGKILLed at random moments (>= 20 kills that land before the search is done) and restarted each time.
 * The final store must equal that of an uninterrupted run with the same seed: same candidates (no loss, no
 * duplicate), same values, same front, same final algorithm state; `PRAGMA integrity_check` ok after every
 * kill; and no process ever starts evaluating a candidate that was already stored.
 * Replay a failure with NAS_CRASH_SEED=<seed printed below>.
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { closeDb, integrityCheck, openDb, type Db, type SearchRow } from "@nas/db";
import { queryCandidates } from "./candidate-query.ts";
import { paretoFront, searchProgress } from "./query.ts";
import { createSearch, getSearch, loadCheckpoint } from "./searches.ts";
import { mulberry32, nsgaSpec, tempDir } from "./testing.ts";
import { workerScript } from "./worker.ts";

const fixture = fileURLToPath(new URL("./crash-evaluator.fixture.ts", import.meta.url));
const KILLS = 20;
const t = tempDir("nas-crash-");
afterAll(() => t.cleanup());

function setup(name: string): { db: Db; dbPath: string; search: SearchRow; trace: string } {
  const dbPath = join(t.dir, `${name}.db`);
  const trace = join(t.dir, `${name}.trace`);
  const db = openDb(dbPath);
  const search = createSearch(
    db,
    nsgaSpec({ options: { population: 8, evaluations: 120 }, evaluator: { kind: "crash-fixture", options: { delayMs: [2, 10], failEvery: 13, trace } } }),
  );
  return { db, dbPath, search, trace };
}

function spawnWorker(dbPath: string, id: number) {
  return Bun.spawn([process.execPath, workerScript, "--db", dbPath, "--search", String(id), "--evaluator-module", fixture], {
    stdout: "ignore",
    stderr: "pipe",
  });
}

function snapshot(db: Db, search: SearchRow) {
  return {
    candidates: queryCandidates(db, search, { limit: 1000 }).items.map((c) => [c.key, c.status, c.generation, c.objectives, c.error]).sort(),
    front: paretoFront(db, search).map((c) => c.key).sort(),
    state: loadCheckpoint(db, search.id)?.state,
    status: getSearch(db, search.id).status,
  };
}

function doneKeys(db: Db, search: SearchRow): Set<string> {
  return new Set(queryCandidates(db, search, { status: ["done", "failed"], limit: 1000 }).items.map((c) => c.key));
}

function traceByPid(trace: string): Map<number, string[]> {
  const out = new Map<number, string[]>();
  let text = "";
  try {
    text = readFileSync(trace, "utf8");
  } catch {
    return out;
  }
  for (const line of text.split("\n")) {
    if (!line) continue;
    const [pid, key] = line.split(" ");
    out.set(Number(pid), [...(out.get(Number(pid)) ?? []), key]);
  }
  return out;
}

/**
 * Kill moments are tied to the worker's own progress, not to wall-clock delays: fixed delays either let a
 * quiet machine finish the search in fewer than KILLS trials or, scaled down, never hit the
 * stored-but-untold window. Here a trial is killed after the worker has started `j` evaluations (0..3,
 * j = 0 meaning during start-up or the first evaluation), plus 0..12 ms of jitter so kills also land
 * mid-evaluation and mid-commit. A trial thus stores at most a handful of the 120 results, so 20 kills
 * always happen before the search can finish, whatever the machine's speed.
 */
async function killAtRandomMoment(proc: ReturnType<typeof spawnWorker>, trace: string, random: () => number): Promise<void> {
  const started = Math.floor(random() * 4);
  const jitterMs = random() * 12;
  const deadline = Date.now() + 20_000;
  while (proc.exitCode === null && Date.now() < deadline) {
    if ((traceByPid(trace).get(proc.pid)?.length ?? 0) >= started) break;
    await Bun.sleep(1);
  }
  if (started === 0) await Bun.sleep(random() * 150); // somewhere in start-up or the first evaluations
  await Bun.sleep(jitterMs);
  proc.kill("SIGKILL");
}

test(`a search SIGKILLed ${KILLS}+ times at random moments ends exactly like an uninterrupted run`, async () => {
  const seed = Number(process.env.NAS_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`crash test: seed ${seed} (replay with NAS_CRASH_SEED=${seed})`);
  const random = mulberry32(seed);

  const ref = setup("reference");
  const refProc = spawnWorker(ref.dbPath, ref.search.id);
  expect({ code: await refProc.exited, stderr: await new Response(refProc.stderr).text() }).toEqual({ code: 0, stderr: "" });
  const reference = snapshot(ref.db, ref.search);
  expect(reference.status).toBe("done");
  expect(reference.candidates).toHaveLength(120);
  expect(reference.candidates.some((c) => c[1] === "failed")).toBe(true);
  closeDb(ref.db);

  const crash = setup("crashed");
  let kills = 0;
  let untoldAtKill = 0; // kills that left results stored but not yet told to the algorithm
  let runningAtKill = 0; // kills that hit while a candidate was being evaluated
  for (let trial = 0; trial < 300; trial++) {
    const before = doneKeys(crash.db, crash.search);
    const proc = spawnWorker(crash.dbPath, crash.search.id);
    if (kills < KILLS) {
      await killAtRandomMoment(proc, crash.trace, random);
      const code = await proc.exited;
      const progress = searchProgress(crash.db, getSearch(crash.db, crash.search.id));
      if (getSearch(crash.db, crash.search.id).status !== "done") {
        kills++;
        if (progress.candidates.done + progress.candidates.failed > progress.evaluationsCheckpointed) untoldAtKill++;
        if (progress.candidates.running > 0) runningAtKill++;
      } else {
        // Finished: either it exited before the kill arrived (0), or the kill landed between the final commit
        // and process exit (137, SIGKILL). Either way the stored search is complete and is checked below.
        expect([0, 137]).toContain(code);
      }
    } else {
      expect({ code: await proc.exited, stderr: await new Response(proc.stderr).text() }).toEqual({ code: 0, stderr: "" });
    }
    expect(integrityCheck(crash.db)).toBe("ok");
    // Nothing stored before this process started was evaluated by it.
    const started = traceByPid(crash.trace).get(proc.pid) ?? [];
    expect(started.filter((k) => before.has(k))).toEqual([]);
    if (kills >= KILLS && getSearch(crash.db, crash.search.id).status === "done") break;
  }
  console.log(`crash test: ${kills} kills mid-search, ${untoldAtKill} left stored-but-untold results, ${runningAtKill} hit an evaluation`);
  expect(kills).toBeGreaterThanOrEqual(KILLS);
  expect(untoldAtKill).toBeGreaterThan(0);
  expect(snapshot(crash.db, crash.search)).toEqual(reference);
  closeDb(crash.db);
}, 90_000);
