/**
 * Crash-safe output: every export is written under a temporary name in the destination's own directory
 * and renamed into place only when complete (rename within one file system is atomic), so a final name
 * never holds a half-written model. A failure removes the temporary file or folder.
 */
import { closeSync, existsSync, fsyncSync, mkdtempSync, openSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

/** Thrown for any export problem a user can fix (bad path, format that cannot express the sub-network, ...). */
export class ExportError extends Error {
  override name = "ExportError";
}

/** Sequential writer over an open file descriptor; `written` counts bytes for alignment bookkeeping. */
export interface FileSink {
  write(bytes: Uint8Array): void;
  readonly written: number;
}

function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ? `${e.code}: ${e.message}` : String(err);
}

function checkParent(finalPath: string): string {
  const dir = dirname(resolve(finalPath));
  if (!existsSync(dir)) throw new ExportError(`cannot write "${finalPath}": directory "${dir}" does not exist`);
  if (!statSync(dir).isDirectory()) throw new ExportError(`cannot write "${finalPath}": "${dir}" is not a directory`);
  return dir;
}

/**
 * Write a file through `fill`, which streams bytes into the sink; the file appears under `finalPath` only
 * once `fill` returned and the data was flushed. An existing file at `finalPath` is replaced atomically.
 *
 * @example
 * writeFileAtomic("out/model.gguf", (sink) => sink.write(headerBytes));
 */
export function writeFileAtomic(finalPath: string, fill: (sink: FileSink) => void): void {
  const dir = checkParent(finalPath);
  if (existsSync(finalPath) && statSync(finalPath).isDirectory()) {
    throw new ExportError(`cannot write "${finalPath}": it is a directory`);
  }
  const tmp = join(dir, `.${basename(finalPath)}.partial-${process.pid}-${Date.now().toString(36)}`);
  let fd: number;
  try {
    fd = openSync(tmp, "wx");
  } catch (err) {
    throw new ExportError(`cannot write "${finalPath}" (${describeFsError(err)})`);
  }
  let written = 0;
  const sink: FileSink = {
    write(bytes) {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      written += bytes.length;
    },
    get written() {
      return written;
    },
  };
  try {
    fill(sink);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, finalPath);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(tmp, { force: true });
    if (err instanceof ExportError) throw err;
    throw new ExportError(`writing "${finalPath}" failed (${describeFsError(err)}); nothing was left under that name`);
  }
}

/**
 * Build a directory through `fill(tmpDir)` and move it to `finalDir` when complete. An existing `finalDir`
 * is replaced: it is renamed aside first and removed only after the new one is in place.
 *
 * @example
 * writeDirAtomic("out/hf", (dir) => writeFileSync(join(dir, "config.json"), "{}"));
 */
export function writeDirAtomic(finalDir: string, fill: (tmpDir: string) => void): void {
  const parent = checkParent(finalDir);
  if (existsSync(finalDir) && !statSync(finalDir).isDirectory()) {
    throw new ExportError(`cannot write "${finalDir}": it exists and is not a directory`);
  }
  let tmp: string;
  try {
    tmp = mkdtempSync(join(parent, `.${basename(finalDir)}.partial-`));
  } catch (err) {
    throw new ExportError(`cannot write "${finalDir}" (${describeFsError(err)})`);
  }
  try {
    fill(tmp);
    let aside: string | undefined;
    if (existsSync(finalDir)) {
      aside = join(parent, `.${basename(finalDir)}.old-${process.pid}-${Date.now().toString(36)}`);
      renameSync(finalDir, aside);
    }
    renameSync(tmp, finalDir);
    if (aside) rmSync(aside, { recursive: true, force: true });
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (err instanceof ExportError) throw err;
    throw new ExportError(`writing "${finalDir}" failed (${describeFsError(err)}); nothing was left under that name`);
  }
}
