// One request or one connection cannot take the server's memory, over a real history of 3,000
// jobs: batches are capped in length and in total answer size, answers too large are refused
// with a clear error, WebSocket clients that stop reading are dropped, and others keep being served.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { connect } from "node:net";
import WebSocket from "ws";
import { HistoryStore } from "../../src/history/store.js";
import { silentLogger } from "../../src/log.js";
import { tempDir, sleep } from "../helpers.js";
import { raw, rssMiB, serve, type Served } from "./hostile-helpers.js";

const JOBS = 3000;
let s: Served;
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

before(async () => {
  const t = { after: (fn: () => unknown) => cleanups.push(fn) };
  const dir = await tempDir(t);
  const data = join(dir, "data");
  await mkdir(data, { recursive: true });
  const store = await HistoryStore.open(data, { logger: silentLogger, checkpointInterval: 30, auxTotalSpecs: [] });
  for (let i = 0; i < JOBS; i++) {
    const j = await store.startJob({ filename: `plate-${i}-a-reasonably-long-file-name.gcode`, start_time: 1e9 + i * 100, metadata: { size: 123456, estimated_time: 3600, layer_height: 0.2, slicer: "PrusaSlicer", slicer_version: "2.7.1", filament_total: 1234.5 } });
    await store.finishJob(j.job_id, "completed", 1e9 + i * 100 + 50, { filament_used: 1234.5, print_duration: 40 }, "test");
  }
  await store.close();
  s = await serve(t, { data });
});

const rpc = (method: string, params: unknown, id: number) => ({ jsonrpc: "2.0", method, params, id });

/** Samples the server's RSS every 25 ms while `work` runs; returns the peak in MiB. */
async function peakRss(work: () => Promise<unknown>): Promise<number> {
  let peak = rssMiB(s.pl.proc.pid!);
  const timer = setInterval(() => (peak = Math.max(peak, rssMiB(s.pl.proc.pid!))), 25);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, rssMiB(s.pl.proc.pid!));
}

/** A WebSocket that never reads: its receive window fills and the server's sends back up. */
async function stalledWebSocket(): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${s.port}/websocket`);
  await new Promise((r, j) => ws.once("open", r).once("error", j));
  ws.on("error", () => undefined);
  (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  return ws;
}

/** The server's count of connected WebSocket clients. */
const websocketCount = async () => (await raw(s.port, "/server/info")).body.result.websocket_count as number;

test("a whole 3,000-job history is one answer; a batch of full lists is cut at the answer budget", { timeout: 120_000 }, async (t) => {
  const one = await raw(s.port, "/server/history/list?limit=0");
  assert.equal(one.status, 200);
  assert.equal(one.body.result.jobs.length, JOBS);
  const perList = one.text.length;

  const base = rssMiB(s.pl.proc.pid!);
  const batch = JSON.stringify(Array.from({ length: 32 }, (_, i) => rpc("server.history.list", { limit: 0 }, i)));
  let replies: any[] = [];
  const peak = await peakRss(async () => {
    const answers = await Promise.all(
      [0, 1, 2].map(() => raw(s.port, "/server/jsonrpc", { method: "POST", headers: { "Content-Type": "application/json" }, body: batch, timeoutMs: 90_000 })),
    );
    for (const a of answers) assert.equal(a.status, 200);
    replies = answers[0]!.body;
    assert.ok(answers[0]!.text.length <= 16 * 2 ** 20 + 32 * 300, `answer ${answers[0]!.text.length} chars`);
  });
  assert.equal(replies.length, 32, "every request in the batch is answered");
  const full = replies.filter((r) => r.result);
  const refused = replies.filter((r) => r.error);
  assert.equal(full.length, Math.floor((16 * 2 ** 20) / (perList + 20)), `${full.length} full lists of ${perList} chars fit`);
  assert.ok(refused.length > 0);
  for (const r of refused) {
    assert.equal(r.error.code, 400);
    assert.match(r.error.message, /Answer larger than 16 MiB: ask for less/);
  }
  assert.deepEqual(replies.map((r) => r.id), Array.from({ length: 32 }, (_, i) => i), "in order, ids kept");
  t.diagnostic(`one full list ${perList} chars; ${full.length} fit a batch; RSS ${base.toFixed(0)} -> peak ${peak.toFixed(0)} MiB for 3 batches at once`);
  // Three such batches at once once took 3 GB; the answer budget keeps them to tens of MB each.
  assert.ok(peak - base < 400, `RSS ${base.toFixed(0)} -> peak ${peak.toFixed(0)} MiB`);

  const tooMany = await raw(s.port, "/server/jsonrpc", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(Array.from({ length: 33 }, (_, i) => rpc("server.history.totals", {}, i))) });
  assert.equal(tooMany.body.error.code, -32600);
  assert.match(tooMany.body.error.message, /batch larger than 32/);
});

test("one connection pipelining heavy requests is answered one request at a time", { timeout: 120_000 }, async (t) => {
  const body = JSON.stringify(Array.from({ length: 32 }, (_, i) => rpc("server.history.list", { limit: 0 }, i)));
  const one = `POST /server/jsonrpc HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const base = rssMiB(s.pl.proc.pid!);
  let received = 0;
  const peak = await peakRss(
    () =>
      new Promise<void>((resolve, reject) => {
        const sock = connect(s.port, "127.0.0.1");
        sock.on("error", reject);
        sock.on("data", (d) => {
          received += d.length;
          // 20 answers of ~16 MiB each, read as they come.
          if (received >= 20 * 16 * 2 ** 20 * 0.9) {
            sock.destroy();
            resolve();
          }
        });
        sock.on("close", () => resolve());
        sock.write(one.repeat(20));
      }),
  );
  t.diagnostic(`20 pipelined batches: RSS ${base.toFixed(0)} -> peak ${peak.toFixed(0)} MiB, ${(received / 2 ** 20).toFixed(0)} MiB received`);
  // Handled all at once, these took ~900 MB more; one at a time, 190-310 MB (what one batch costs
  // plus the collector's slack, more after earlier tests grew the heap).
  assert.ok(peak - base < 500, `RSS ${base.toFixed(0)} -> peak ${peak.toFixed(0)} MiB`);
  assert.equal((await raw(s.port, "/server/history/totals")).status, 200);
});

test("a connection that pipelines 1,000 whole-history requests and never reads holds one answer, and is closed after a minute without progress", { timeout: 150_000 }, async (t) => {
  const pid = s.pl.proc.pid!;
  const base = rssMiB(pid);
  const opened = Date.now();
  const sock = connect(s.port, "127.0.0.1");
  sock.on("error", () => {});
  sock.pause(); // never reads
  let closedAt = 0;
  const closed = new Promise<void>((resolve) => sock.on("close", () => ((closedAt = Date.now()), resolve())));
  sock.write(`GET /server/history/list?limit=0 HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\n\r\n`.repeat(1000));
  const peak = await peakRss(() => sleep(5000));
  t.diagnostic(`1,000 pipelined lists, never read: RSS ${base.toFixed(0)} -> peak ${peak.toFixed(0)} MiB`);
  // Run together, the queued answers took ~320 MB more.
  assert.ok(peak - base < 60, `RSS ${base.toFixed(0)} -> peak ${peak.toFixed(0)} MiB`);
  assert.equal((await raw(s.port, "/server/history/totals")).status, 200, "others are served meanwhile");
  // After a minute without progress the server drops it, and says so: what was in flight
  // arrives, then the end (kept open, the 1,000 answers, ~1.4 GB, would go on arriving).
  await s.pl.waitFor(/http\.stalled_client_dropped/, 90_000);
  assert.ok(Date.now() - opened >= 55_000, `dropped after ${((Date.now() - opened) / 1000).toFixed(0)} s`);
  let received = 0;
  sock.on("data", (d: Buffer) => (received += d.length));
  sock.resume();
  await Promise.race([closed, sleep(15_000)]);
  assert.ok(closedAt > 0, `closed by the server (${(received / 2 ** 20).toFixed(0)} MiB read after the drop)`);
  assert.ok(received < 100 * 2 ** 20, `${(received / 2 ** 20).toFixed(0)} MiB read after the drop`);
});

test("others are served while heavy batches run", { timeout: 120_000 }, async () => {
  const batch = JSON.stringify(Array.from({ length: 32 }, (_, i) => rpc("server.history.list", { limit: 0 }, i)));
  let heavyDone = 0;
  const heavy = [0, 1].map(() => raw(s.port, "/server/jsonrpc", { method: "POST", headers: { "Content-Type": "application/json" }, body: batch, timeoutMs: 90_000 }).then(() => heavyDone++));
  let light = 0;
  while (heavyDone < 2) {
    const r = await raw(s.port, "/server/history/totals");
    assert.equal(r.status, 200);
    light++;
  }
  await Promise.all(heavy);
  assert.ok(light >= 1);
});

test("20 WebSocket clients that stop reading are dropped, the server's memory stays bounded", { timeout: 180_000 }, async (t) => {
  const base = rssMiB(s.pl.proc.pid!);
  const stuck: WebSocket[] = [];
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, rssMiB(s.pl.proc.pid!))), 50);
  try {
    for (let i = 0; i < 20; i++) {
      const ws = await stalledWebSocket();
      // 30 full lists asked for: queued whole, that would be over 1 GB for the 20 clients.
      for (let k = 0; k < 30; k++) ws.send(JSON.stringify(rpc("server.history.list", { limit: 0 }, k)));
      stuck.push(ws);
    }
    // Meanwhile a reading client is answered.
    const ok = new WebSocket(`ws://127.0.0.1:${s.port}/websocket`);
    await new Promise((r, j) => ok.once("open", r).once("error", j));
    const answer = new Promise<any>((r) => ok.on("message", (d) => {
      const m = JSON.parse(d.toString());
      if (m.id === "mine") r(m);
    }));
    ok.send(JSON.stringify(rpc("server.history.list", { limit: 5 }, "mine" as unknown as number)));
    assert.equal((await answer).result.jobs.length, 5);
    ok.close();

    // The stalled clients are dropped within the stall window (30 s) plus the watchdog's tick.
    const deadline = Date.now() + 120_000;
    let dropped = 0;
    while (Date.now() < deadline) {
      dropped = (s.pl.output().match(/websocket.slow_client_dropped/g) ?? []).length;
      if (dropped >= 20) break;
      await sleep(500);
    }
    assert.equal(dropped, 20, "every stalled client was dropped");
    // ...and forgotten: their slots are free again.
    while (Date.now() < deadline && (await websocketCount()) > 0) await sleep(200);
    assert.equal(await websocketCount(), 0, "the dropped clients are closed");
  } finally {
    clearInterval(timer);
    for (const ws of stuck) ws.terminate();
  }
  t.diagnostic(`RSS ${base.toFixed(0)} -> peak ${peak.toFixed(0)} MiB with 20 stalled clients`);
  // Each stalled client holds about one answer (~2 MB here) beyond the kernel's buffers; the rest
  // of the margin is the collector's slack on a loaded machine (25-180 MB seen; queued whole: >1 GB).
  assert.ok(peak - base < 300, `RSS ${base.toFixed(0)} -> peak ${peak.toFixed(0)} MiB with 20 stalled clients`);
  assert.equal((await raw(s.port, "/server/history/totals")).status, 200);
});

test("WebSocket clients that stop reading cannot queue more than the send budget between them; a reader is told the server is busy, then answered", { timeout: 180_000 }, async (t) => {
  const base = rssMiB(s.pl.proc.pid!);
  // A batch of 32 whole lists is built whole: ~16 MiB of answer each.
  const batch = JSON.stringify(Array.from({ length: 32 }, (_, i) => rpc("server.history.list", { limit: 0 }, i)));
  const stuck: WebSocket[] = [];
  let reader: WebSocket | undefined;
  const peak = await peakRss(async () => {
    try {
      for (let i = 0; i < 30; i++) {
        const ws = await stalledWebSocket();
        ws.send(batch);
        stuck.push(ws);
      }
      await sleep(3000);
      const ws = (reader = new WebSocket(`ws://127.0.0.1:${s.port}/websocket`));
      await new Promise((r, j) => ws.once("open", r).once("error", j));
      // The batch's answer (an array), not a notification.
      const ask = () =>
        new Promise<any[]>((resolve) => {
          const on = (d: WebSocket.RawData) => {
            const m = JSON.parse(d.toString());
            if (!Array.isArray(m)) return;
            ws.off("message", on);
            resolve(m);
          };
          ws.on("message", on);
          ws.send(batch);
        });
      const busy = await ask();
      assert.equal(busy.length, 32);
      assert.equal(busy[0].error?.code, 400, JSON.stringify(busy[0]).slice(0, 200));
      assert.match(busy[0].error.message, /^Server busy: answers to other clients are still being sent/);
      // They leave: the budget is free again.
      for (const ws of stuck) ws.terminate();
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && (await websocketCount()) > 1) await sleep(200);
      const whole = await ask();
      assert.equal(whole[0].result.jobs.length, JOBS);
    } finally {
      for (const ws of stuck) ws.terminate();
      reader?.close();
    }
  });
  t.diagnostic(`RSS ${base.toFixed(0)} -> peak ${peak.toFixed(0)} MiB with 30 stalled clients asking for 16 MiB each`);
  // With no budget this was +1.7 GB (each client's 16 MiB answer queued, as text and as frames);
  // with it ~450 MB, most of it the heap the first three answers were built in.
  assert.ok(peak - base < 900, `RSS ${base.toFixed(0)} -> peak ${peak.toFixed(0)} MiB`);
});
