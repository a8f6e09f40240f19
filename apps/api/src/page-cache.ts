/**
 * A small cache of rendered candidate pages, valid while the database is unchanged (see `dataVersion`).
 * Dashboards poll the same few views (the front, a filtered list) far more often than a search stores a
 * result (seconds per candidate on a GPU, or every 10 ms in the benchmark), so most requests are served
 * without touching SQLite; any commit by any connection invalidates every entry at once.
 */
import { dataVersion, type Db } from "@nas/db";

/**
 * @example
 * const cache = new PageCache(db);
 * const json = cache.get("front:1", () => queryCandidatesJson(db, search, { pareto: true }));
 */
export class PageCache {
  private version = "";
  private readonly entries = new Map<string, string>();

  constructor(
    private readonly db: Db,
    /** Most pages kept (oldest dropped first); 0 disables caching. */
    private readonly capacity = 256,
  ) {}

  /**
   * The cached text for `key`, or `render()`'s result (then cached).
   *
   * @example
   * const json = cache.get(`${id}?${query}`, () => queryCandidatesJson(db, search, q));
   */
  get(key: string, render: () => string): string {
    if (this.capacity <= 0) return render();
    const v = dataVersion(this.db);
    if (v !== this.version) {
      this.entries.clear();
      this.version = v;
    }
    const hit = this.entries.get(key);
    if (hit !== undefined) return hit;
    const text = render();
    // render() only reads, so the version is unchanged and the entry is valid for it.
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, text);
    return text;
  }
}
