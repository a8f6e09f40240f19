/**
 * The engine worker: a Node process that owns the WebGPU device and the uploaded models, and answers
 * framed requests on stdin with framed responses on stdout (see ../protocol.ts for why it exists).
 * The ops themselves are in handlers.ts. stdout carries frames only; anything printed goes to stderr.
 */
import { FrameReader, encodeFrame, type Request, type Response } from "../protocol.ts";
import { handle } from "./handlers.ts";

console.log = console.error; // never let a stray log corrupt the frame stream
console.info = console.error;

function send(message: Response): void {
  process.stdout.write(encodeFrame(message));
}

const reader = new FrameReader((bytes) => process.stderr.write(`[engine] ignored ${bytes.length} bytes on stdin outside any frame\n`));
process.stdin.on("data", (chunk: Buffer) => {
  for (const msg of reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
    const req = msg as Request;
    // handle() runs requests one at a time in arrival order, so answers go out in that order too. A result that
    // cannot be framed is answered as that request's error (the catch), never left to crash the worker.
    handle(req.op, req.args)
      .then((result) => {
        send({ id: req.id, result });
        if (req.op === "shutdown") setImmediate(() => process.exit(0)); // the device is destroyed: nothing left to serve
      })
      .catch((e) => {
        const err = e instanceof Error ? e : new Error(String(e));
        send({ id: req.id, error: { name: err.name, message: err.message || String(e), stack: err.stack } });
      });
  }
});
// The parent went away: nothing left to serve.
process.stdin.on("end", () => process.exit(0));
