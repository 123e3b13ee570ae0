// Moonraker's 32x32 miniature (metadata.py: when the slicer wrote none, the largest thumbnail is
// scaled to fit 32x32), without an image library: decode a PNG (8- or 16-bit, any colour type,
// not interlaced), box-filter it down keeping its aspect ratio, encode it again.
// Pure and bounded: a malformed or oversized image is an ImageError, never a hang.

import { inflateSync } from "node:zlib";
import { encodePng, ImageError } from "./qoi-png.js";

/** Images larger than this are not decoded (a miniature is not worth the memory). */
const MAX_SIDE = 1024;

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

export function decodePng(buf: Buffer): { width: number; height: number; rgba: Buffer } {
  if (buf.length < 33 || buf.toString("hex", 0, 8) !== "89504e470d0a1a0a") throw new ImageError("not a PNG");
  let p = 8;
  let width = 0, height = 0, depth = 0, type = -1, interlace = 0;
  let palette: Buffer | null = null;
  let alpha: Buffer | null = null;
  const idat: Buffer[] = [];
  while (p + 8 <= buf.length) {
    const len = buf.readUInt32BE(p);
    const kind = buf.toString("latin1", p + 4, p + 8);
    const data = buf.subarray(p + 8, p + 8 + len);
    if (data.length !== len) throw new ImageError("PNG chunk cut short");
    if (kind === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      depth = data[8]!;
      type = data[9]!;
      interlace = data[12]!;
    } else if (kind === "PLTE") palette = data;
    else if (kind === "tRNS") alpha = data;
    else if (kind === "IDAT") idat.push(data);
    else if (kind === "IEND") break;
    p += 12 + len;
  }
  const channels = CHANNELS[type];
  if (!channels || width < 1 || height < 1) throw new ImageError("unsupported PNG header");
  if (width > MAX_SIDE || height > MAX_SIDE) throw new ImageError(`PNG ${width}x${height} too large to shrink`);
  if (interlace !== 0 || !(depth === 8 || depth === 16) || (type === 3 && depth !== 8)) throw new ImageError("unsupported PNG encoding");
  const bpp = (channels * depth) / 8;
  const stride = width * bpp;
  let raw: Buffer;
  try {
    raw = inflateSync(Buffer.concat(idat), { maxOutputLength: (stride + 1) * height });
  } catch {
    throw new ImageError("PNG data does not inflate");
  }
  if (raw.length < (stride + 1) * height) throw new ImageError("PNG data cut short");
  // Undo the per-row filters (PNG specification §9).
  const pix = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const row = y * stride;
    for (let x = 0; x < stride; x++) {
      const cur = raw[y * (stride + 1) + 1 + x]!;
      const a = x >= bpp ? pix[row + x - bpp]! : 0;
      const b = y > 0 ? pix[row - stride + x]! : 0;
      const c = x >= bpp && y > 0 ? pix[row - stride + x - bpp]! : 0;
      let v: number;
      if (filter === 0) v = cur;
      else if (filter === 1) v = cur + a;
      else if (filter === 2) v = cur + b;
      else if (filter === 3) v = cur + ((a + b) >> 1);
      else if (filter === 4) {
        const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c);
        v = cur + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      } else throw new ImageError(`bad PNG filter ${filter}`);
      pix[row + x] = v & 0xff;
    }
  }
  const rgba = Buffer.alloc(width * height * 4);
  const sample = (i: number, ch: number) => pix[i * bpp + ch * (depth / 8)]!; // 16-bit: the high byte
  for (let i = 0; i < width * height; i++) {
    let r: number, g: number, b: number, a = 255;
    if (type === 3) {
      const idx = sample(i, 0);
      if (!palette || idx * 3 + 2 >= palette.length) throw new ImageError("PNG palette index out of range");
      r = palette[idx * 3]!; g = palette[idx * 3 + 1]!; b = palette[idx * 3 + 2]!;
      if (alpha && idx < alpha.length) a = alpha[idx]!;
    } else if (type === 0 || type === 4) {
      r = g = b = sample(i, 0);
      if (type === 4) a = sample(i, 1);
    } else {
      r = sample(i, 0); g = sample(i, 1); b = sample(i, 2);
      if (type === 6) a = sample(i, 3);
    }
    rgba[i * 4] = r; rgba[i * 4 + 1] = g; rgba[i * 4 + 2] = b; rgba[i * 4 + 3] = a;
  }
  return { width, height, rgba };
}

/** Scales to fit within `box`×`box`, keeping the aspect ratio (Pillow's thumbnail()), by box averaging. */
export function shrinkRgba(width: number, height: number, rgba: Buffer, box: number): { width: number; height: number; rgba: Buffer } {
  const scale = Math.min(1, box / width, box / height);
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const out = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) {
    const y0 = Math.floor((y * height) / h), y1 = Math.max(y0 + 1, Math.floor(((y + 1) * height) / h));
    for (let x = 0; x < w; x++) {
      const x0 = Math.floor((x * width) / w), x1 = Math.max(x0 + 1, Math.floor(((x + 1) * width) / w));
      const sum = [0, 0, 0, 0];
      for (let sy = y0; sy < y1; sy++) for (let sx = x0; sx < x1; sx++) for (let c = 0; c < 4; c++) sum[c]! += rgba[(sy * width + sx) * 4 + c]!;
      const n = (y1 - y0) * (x1 - x0);
      for (let c = 0; c < 4; c++) out[(y * w + x) * 4 + c] = Math.round(sum[c]! / n);
    }
  }
  return { width: w, height: h, rgba: out };
}

/** The PNG miniature of a PNG image, fitting 32x32. */
export function miniaturePng(png: Buffer): { width: number; height: number; bytes: Buffer } {
  const img = decodePng(png);
  const small = shrinkRgba(img.width, img.height, img.rgba, 32);
  return { width: small.width, height: small.height, bytes: encodePng(small.width, small.height, small.rgba) };
}
