// Thumbnail fixtures: a real 64x48 PNG, a minimal JPEG, a 2x2 QOI, and slicer thumbnail blocks.

import { encodePng } from "../../src/files/qoi-png.js";

/** 64x48, a colour gradient (so a miniature has something to average). */
export const PNG = encodePng(64, 48, Buffer.from(Array.from({ length: 64 * 48 }, (_, i) => [(i % 64) * 4, Math.floor(i / 64) * 5, 128, 255]).flat()));
export const JPG = Buffer.from("ffd8ffe000104a46494600010100000100010000ffd9", "hex");
// 2x2 QOI: one RGBA pixel op, a run of 3, the end marker.
export const QOI = Buffer.concat([Buffer.from("qoif"), Buffer.from([0, 0, 0, 2, 0, 0, 0, 2, 4, 0]), Buffer.from([0xff, 10, 20, 30, 255, 0xc0 | 2]), Buffer.from([0, 0, 0, 0, 0, 0, 0, 1])]);

export function block(tag: string, w: number, h: number, data: Buffer): string {
  const b64 = data.toString("base64");
  const lines = b64.match(/.{1,78}/g)!.map((l) => `; ${l}`);
  return [`;`, `; ${tag} begin ${w}x${h} ${b64.length}`, ...lines, `; ${tag} end`, `;`].join("\n");
}

