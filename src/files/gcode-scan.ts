// One bounded, streaming pass over a G-code file: the comment lines of its head (slicer
// settings) without the thumbnail payloads, the embedded thumbnail blocks, and its tail.
// Never reads more than HEAD_LIMIT + TAIL_WINDOW bytes, whatever the file's size.

import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";

/** Bytes of the head streamed: slicers write thumbnails and settings before the first move. */
export const HEAD_LIMIT = 4 * 1024 * 1024;
/** Comment text kept from the head for the slicer parsers. */
const HEAD_TEXT_LIMIT = 256 * 1024;
export const TAIL_WINDOW = 128 * 1024;
/** At most this many thumbnails per file, each at most this much base64. */
export const MAX_THUMBS = 8;
export const MAX_THUMB_BASE64 = 1536 * 1024;
const MAX_LINE = 4096;

export interface RawThumbnail {
  /** `png`, `jpg` or `qoi` (PrusaSlicer's `thumbnail`, `thumbnail_JPG`, `thumbnail_QOI`). */
  format: "png" | "jpg" | "qoi";
  width: number;
  height: number;
  data: Buffer;
}

export interface GcodeScan {
  text: string;
  thumbnails: RawThumbnail[];
}

// `; thumbnail begin 300x300 12345` (PrusaSlicer, SuperSlicer, OrcaSlicer, Cura's plugin);
// `; thumbnail_JPG begin …`, `; thumbnail_QOI begin …` — as Moonraker's metadata.py reads them.
const BEGIN = /^;\s*(thumbnail(?:_([A-Za-z0-9]+))?) begin (\d{1,5})[x ](\d{1,5}) (\d{1,9})/;
const FORMATS: Record<string, RawThumbnail["format"]> = { "": "png", png: "png", jpg: "jpg", jpeg: "jpg", qoi: "qoi" };

interface Block {
  tag: string;
  format: RawThumbnail["format"] | null;
  width: number;
  height: number;
  declared: number;
  parts: string[];
  length: number;
  broken: boolean;
}

/** Pure: feeds lines and collects what the scan returns; used by scanGcode and by tests. */
export class ScanState {
  text = "";
  thumbnails: RawThumbnail[] = [];
  private block: Block | null = null;

  line(raw: string): void {
    const line = raw.length > MAX_LINE ? raw.slice(0, MAX_LINE) : raw.replace(/\r$/, "");
    // G-code inside a block means its end line is missing: drop the block, read the line.
    if (this.block && !line.startsWith(";")) this.block = null;
    const b = this.block;
    if (b) {
      if (/^;\s*(\S+) end\s*$/.test(line) && line.includes(`${b.tag} end`)) {
        this.finish(b);
        this.block = null;
        return;
      }
      const data = line.replace(/^;\s?/, "").trim();
      b.length += data.length;
      if (b.length > MAX_THUMB_BASE64 || !/^[A-Za-z0-9+/=]*$/.test(data)) b.broken = true;
      else b.parts.push(data);
      return;
    }
    const m = BEGIN.exec(line);
    if (m) {
      const format = FORMATS[(m[2] ?? "").toLowerCase()] ?? null;
      const declared = Number(m[5]);
      this.block = { tag: m[1]!, format, width: Number(m[3]), height: Number(m[4]), declared, parts: [], length: 0, broken: declared > MAX_THUMB_BASE64 };
      return;
    }
    if (line.startsWith(";") && this.text.length < HEAD_TEXT_LIMIT) this.text += line + "\n";
  }

  private finish(b: Block): void {
    // A block whose length differs from the declared one is skipped, as Moonraker does.
    if (b.broken || !b.format || b.length !== b.declared || this.thumbnails.length >= MAX_THUMBS) return;
    if (b.width < 1 || b.height < 1 || b.width > 4096 || b.height > 4096) return;
    this.thumbnails.push({ format: b.format, width: b.width, height: b.height, data: Buffer.from(b.parts.join(""), "base64") });
  }
}

/** Streams the head (split into lines), then reads the tail window; the file is never held whole. */
export async function scanGcode(path: string, size: number): Promise<GcodeScan> {
  const state = new ScanState();
  const headEnd = Math.min(size, HEAD_LIMIT);
  if (headEnd > 0) {
    const stream = createReadStream(path, { start: 0, end: headEnd - 1, highWaterMark: 64 * 1024 });
    const decoder = new StringDecoder("utf8");
    let rest = "";
    for await (const chunk of stream) {
      const text = rest + decoder.write(chunk as Buffer);
      const lines = text.split("\n");
      rest = lines.pop() ?? "";
      if (rest.length > MAX_LINE) rest = rest.slice(0, MAX_LINE);
      for (const l of lines) state.line(l);
    }
    state.line(rest);
  }
  let text = state.text;
  // The tail holds PrusaSlicer's settings block; read it apart, as the head's comment budget may
  // be spent on the per-layer comments of the body.
  if (size > TAIL_WINDOW) {
    const h = await open(path, "r");
    try {
      const len = TAIL_WINDOW;
      const tail = Buffer.alloc(len);
      await h.read(tail, 0, len, size - len);
      text += "\n" + tail.toString("utf8");
    } finally {
      await h.close();
    }
  }
  return { text, thumbnails: state.thumbnails };
}
