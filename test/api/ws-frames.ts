// A WebSocket client over a raw TCP socket that records each frame as it arrives (FIN bit,
// opcode, payload), so a test can see how a message was fragmented and whether anything was
// interleaved with it — and can stop reading (pause the socket) like a slow client.

import { connect, type Socket } from "node:net";
import { randomBytes } from "node:crypto";

export interface Frame {
  fin: boolean;
  /** 1 text, 0 continuation, 2 binary, 8 close, 9 ping, 10 pong. */
  opcode: number;
  payload: Buffer;
}

export class FrameClient {
  readonly frames: Frame[] = [];
  private pending: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.on("data", (d: Buffer) => this.take(d));
  }

  static connect(port: number): Promise<FrameClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("error", reject);
      socket.once("connect", () => {
        const key = randomBytes(16).toString("base64");
        socket.write(`GET /websocket HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      });
      let head = Buffer.alloc(0);
      const onHead = (d: Buffer) => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf("\r\n\r\n");
        if (end === -1) return;
        socket.off("data", onHead);
        const status = head.subarray(0, end).toString("latin1").split("\r\n")[0]!;
        if (!/^HTTP\/1\.1 101/.test(status)) return reject(new Error(`handshake refused: ${status}`));
        const client = new FrameClient(socket);
        const rest = head.subarray(end + 4);
        if (rest.length > 0) client.take(rest);
        resolve(client);
      };
      socket.on("data", onHead);
    });
  }

  /** Sends one masked text frame (clients must mask, RFC 6455 5.3). */
  send(text: string): void {
    const payload = Buffer.from(text);
    const mask = randomBytes(4);
    const len = payload.length;
    const head = len < 126 ? Buffer.from([0x81, 0x80 | len]) : Buffer.from([0x81, 0x80 | 126, len >> 8, len & 0xff]);
    if (len > 0xffff) throw new Error("test frames stay under 64 KB");
    for (let i = 0; i < len; i++) payload[i]! ^= mask[i & 3]!;
    this.socket.write(Buffer.concat([head, mask, payload]));
  }

  /** Stops reading: the kernel's buffers fill and the server's sends back up. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Resolves once `pred` holds over the frames received so far. */
  until(pred: (frames: Frame[]) => boolean, timeoutMs = 60_000): Promise<void> {
    if (pred(this.frames)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`frames: condition not met within ${timeoutMs} ms (${this.frames.length} frames)`));
      }, timeoutMs);
      const check = () => {
        if (!pred(this.frames)) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  /** The data messages received so far, reassembled; `frames` says how many frames each took. */
  messages(): { text: string; frames: number }[] {
    const out: { text: string; frames: number }[] = [];
    let parts: Buffer[] | null = null;
    for (const f of this.frames) {
      if (f.opcode >= 8) continue; // control frames may come between fragments
      if (f.opcode !== 0) {
        if (parts !== null) throw new Error("a new message began inside a fragmented one");
        parts = [];
      } else if (parts === null) throw new Error("a continuation frame outside a message");
      parts.push(f.payload);
      if (f.fin) {
        out.push({ text: Buffer.concat(parts).toString("utf8"), frames: parts.length });
        parts = null;
      }
    }
    return out;
  }

  close(): void {
    this.socket.destroy();
  }

  private take(d: Buffer): void {
    this.pending = this.pending.length === 0 ? d : Buffer.concat([this.pending, d]);
    for (;;) {
      const b = this.pending;
      if (b.length < 2) break;
      let len = b[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) break;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) break;
        len = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      if (b.length < at + len) break;
      this.frames.push({ fin: (b[0]! & 0x80) !== 0, opcode: b[0]! & 0x0f, payload: Buffer.from(b.subarray(at, at + len)) });
      this.pending = b.subarray(at + len);
    }
    for (const w of [...this.waiters]) w();
  }
}
