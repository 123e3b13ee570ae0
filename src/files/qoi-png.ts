// QOI -> PNG for OrcaSlicer's `thumbnail_QOI` blocks: browsers cannot show QOI, so Moonraker
// converts them to PNG (FMT_CONV_MAP); printlog does the same without an image library.
// Pure: bytes in, bytes out; a malformed image is an error, never a hang (bounded by its size).

import { deflateSync } from "node:zlib";
import { crc32Table } from "../crc32.js";

export class ImageError extends Error {}

/** Decodes a QOI image (qoiformat.org specification) to RGBA pixels. */
export function decodeQoi(buf: Buffer): { width: number; height: number; rgba: Buffer } {
  if (buf.length < 22 || buf.toString("latin1", 0, 4) !== "qoif") throw new ImageError("not a QOI image");
  const width = buf.readUInt32BE(4);
  const height = buf.readUInt32BE(8);
  if (width < 1 || height < 1 || width > 4096 || height > 4096) throw new ImageError(`QOI size ${width}x${height} out of range`);
  const rgba = Buffer.alloc(width * height * 4);
  const index = new Uint8Array(64 * 4);
  const px = [0, 0, 0, 255]; // r, g, b, a
  let p = 14;
  const end = buf.length - 8;
  const byte = () => {
    if (p >= end) throw new ImageError("QOI data ends early");
    return buf[p++]!;
  };
  for (let out = 0; out < rgba.length; ) {
    let run = 1;
    const op = byte();
    if (op === 0xfe || op === 0xff) {
      // QOI_OP_RGB / QOI_OP_RGBA
      px[0] = byte();
      px[1] = byte();
      px[2] = byte();
      if (op === 0xff) px[3] = byte();
    } else if ((op & 0xc0) === 0x00) {
      // QOI_OP_INDEX
      const i = (op & 0x3f) * 4;
      for (let c = 0; c < 4; c++) px[c] = index[i + c]!;
    } else if ((op & 0xc0) === 0x40) {
      // QOI_OP_DIFF
      px[0] = (px[0]! + ((op >> 4) & 3) - 2) & 0xff;
      px[1] = (px[1]! + ((op >> 2) & 3) - 2) & 0xff;
      px[2] = (px[2]! + (op & 3) - 2) & 0xff;
    } else if ((op & 0xc0) === 0x80) {
      // QOI_OP_LUMA
      const n = byte();
      const dg = (op & 0x3f) - 32;
      px[0] = (px[0]! + dg + (n >> 4) - 8) & 0xff;
      px[1] = (px[1]! + dg) & 0xff;
      px[2] = (px[2]! + dg + (n & 0x0f) - 8) & 0xff;
    } else {
      // QOI_OP_RUN
      run = (op & 0x3f) + 1;
    }
    const h = ((px[0]! * 3 + px[1]! * 5 + px[2]! * 7 + px[3]! * 11) % 64) * 4;
    for (let c = 0; c < 4; c++) index[h + c] = px[c]!;
    for (; run > 0 && out < rgba.length; run--, out += 4) for (let c = 0; c < 4; c++) rgba[out + c] = px[c]!;
  }
  return { width, height, rgba };
}

const crc32 = (data: Buffer): number => crc32Table(data);

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** Encodes RGBA pixels as an 8-bit RGBA PNG (filter 0 on every row). */
export function encodePng(width: number, height: number, rgba: Buffer): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const stride = width * 4;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) rgba.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  return Buffer.concat([Buffer.from("89504e470d0a1a0a", "hex"), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

export const qoiToPng = (qoi: Buffer): Buffer => {
  const { width, height, rgba } = decodeQoi(qoi);
  return encodePng(width, height, rgba);
};
