// Caps runs of bytes without a newline before they reach the readline parser, which would
// otherwise buffer a newline-free stream (line noise, a wrong baud rate) without limit.

import { Transform, type TransformCallback } from "node:stream";
import { MAX_LINE_LENGTH } from "../protocol/events.js";

export class LineCap extends Transform {
  private run = 0;
  constructor(private readonly max = MAX_LINE_LENGTH) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let start = 0;
    const parts: Buffer[] = [];
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] === 0x0a) {
        this.run = 0;
      } else if (++this.run > this.max) {
        // Cut the over-long line here; the rest becomes the next line.
        parts.push(chunk.subarray(start, i), Buffer.from("\n"));
        start = i;
        this.run = 1;
      }
    }
    parts.push(chunk.subarray(start));
    done(null, Buffer.concat(parts));
  }
}
