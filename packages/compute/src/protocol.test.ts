/**
 * Frames between the Bun client and the Node engine worker (protocol.ts): typed arrays round-trip, frames split
 * at every byte boundary reassemble, and bytes outside frames (native code writing to the worker's stdout, as
 * Dawn does with WGSL compiler warnings) are handed to the stray callback without losing or shifting a frame.
 */
import { expect, test } from "bun:test";
import fc from "fast-check";
import { FRAME_MARKER, FrameError, FrameReader, encodeFrame } from "./protocol.ts";

const text = (s: string) => new TextEncoder().encode(s);
const join = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

test("a message with typed arrays round-trips, whatever the chunking", () => {
  const msg = { id: 7, result: { logprobs: new Float32Array([0.5, -1.25, 3]), argmax: new Uint32Array([1, 2]), note: "x" } };
  const frame = encodeFrame(msg);
  for (let cut = 0; cut <= frame.length; cut++) {
    const r = new FrameReader(() => {
      throw new Error("no stray bytes expected");
    });
    const got = [...r.push(frame.slice(0, cut)), ...r.push(frame.slice(cut))];
    expect(got).toEqual([msg]);
  }
});

test("stray output before, between and inside the chunks of frames goes to `stray`; every frame still arrives", () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ before: fc.string({ maxLength: 300 }), n: fc.integer({ min: 0, max: 40 }) }), { minLength: 1, maxLength: 5 }),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }),
      (parts, cuts) => {
        const msgs = parts.map((p, i) => ({ id: i, result: new Float64Array(p.n).map((_, j) => j / 3) }));
        const stream = join(...parts.flatMap((p, i) => [text(p.before), encodeFrame(msgs[i])]), text("tail warning\n"));
        const stray: Uint8Array[] = [];
        const r = new FrameReader((b) => stray.push(b));
        const got: unknown[] = [];
        for (let o = 0, k = 0; o < stream.length; k++) {
          const n = cuts[k % cuts.length];
          got.push(...r.push(stream.slice(o, o + n)));
          o += n;
        }
        expect(got).toEqual(msgs);
        // All stray text but the last few bytes (which could still begin a marker) has been handed over, in order.
        const all = new TextDecoder().decode(join(...stray));
        const want = parts.map((p) => p.before).join("") + "tail warning\n";
        expect(want.startsWith(all)).toBe(true);
        expect(want.length - all.length).toBeLessThan(FRAME_MARKER.length);
      },
    ),
    { numRuns: 100 },
  );
});

test("Dawn's shader warning between two frames (the case that used to hang the engine)", () => {
  const warning = text('warning:\nCompilation log for [ShaderModule "block(...)"]:\n\n1 warning(s) generated while compiling the shader:\n:117:3 warning: code is unreachable\n');
  const lines: string[] = [];
  const r = new FrameReader((b) => lines.push(new TextDecoder().decode(b)));
  const got = r.push(join(encodeFrame({ id: 1 }), warning, encodeFrame({ id: 2, result: 5 })));
  expect(got).toEqual([{ id: 1 }, { id: 2, result: 5 }]);
  expect(lines.join("")).toContain("code is unreachable");
});

test("bytes that land inside a frame's header make it a FrameError, not a silent wait", () => {
  const frame = encodeFrame({ id: 3, result: "a fairly long string so the header has room" });
  const broken = join(frame.slice(0, 20), text("junk!"), frame.slice(20));
  expect(() => new FrameReader().push(broken)).toThrow(FrameError);
});
