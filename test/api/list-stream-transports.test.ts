// `limit=0` has no size ceiling on any transport: over the WebSocket it is one JSON-RPC message
// sent as fragments, over POST /server/jsonrpc a chunked body — larger than the 16 MiB cap on whole
// answers, arriving whole, with the server's memory bounded, and a client that stops reading
// holds up nobody else. Through the real process, its real sockets and a real history on disk.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeHistory } from "../../scripts/bench-data.js";
import { MAX_ANSWER_CHARS } from "../../src/api/json-limits.js";
import { deployedNodeFlags } from "../../scripts/node-flags.js";
import { ROOT, RpcClient, sleep, startCli, tempDir, type RunningProcess } from "../helpers.js";
import { raw, rssMiB } from "./hostile-helpers.js";
import { FrameClient } from "./ws-frames.js";

/** ~1.5 KB a job: ~45 MB of answer, nearly three times the cap on whole answers. */
const JOBS = 30_000;
let pl: RunningProcess;
let port: number;
/** The `result` of GET /server/history/list?limit=0, as text: the reference answer. */
let reference: string;
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

before(async () => {
  const dir = await tempDir({ after: (fn) => cleanups.push(fn) });
  const data = join(dir, "data");
  await makeHistory(data, JOBS);
  // Node's flags as deployed: memory is measured as it will be on the board.
  pl = await startCli(["serve", "--device", "none", "--host", "127.0.0.1", "--http-port", "0", "--data-dir", data, "--log-level", "info"], {}, ROOT, deployedNodeFlags(ROOT));
  cleanups.push(() => pl.stop("SIGKILL"));
  port = Number(new URL(pl.url).port);
  const get = await raw(port, "/server/history/list?limit=0", { timeoutMs: 120_000 });
  assert.equal(get.status, 200);
  assert.ok(get.text.startsWith(`{"result":{"jobs":[`) && get.text.endsWith(`],"count":${JOBS}}}`));
  reference = get.text.slice('{"result":'.length, -1);
  assert.ok(reference.length > MAX_ANSWER_CHARS * 2, `the list is ${reference.length} chars, the cap ${MAX_ANSWER_CHARS}`);
}, { timeout: 180_000 });

const rpc = (method: string, params: unknown, id: number | string) => JSON.stringify({ jsonrpc: "2.0", method, params, id });

/** The server's peak resident memory while `work` runs, from the kernel's high-water mark (reset first). */
async function peakDuring(work: () => Promise<unknown>): Promise<{ base: number; peak: number }> {
  const pid = pl.proc.pid!;
  const base = rssMiB(pid);
  let sampled = base;
  let reset = true;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
  } catch {
    reset = false; // not allowed here: sample instead
  }
  const timer = setInterval(() => (sampled = Math.max(sampled, rssMiB(pid))), 20);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return { base, peak: reset && hwm ? Number(hwm[1]) / 1024 : sampled };
}

test("WebSocket: a list nearly three times the answer cap is one message in fragments, whole and parseable", { timeout: 180_000 }, async (t) => {
  const c = await FrameClient.connect(port);
  t.after(() => c.close());
  const { base, peak } = await peakDuring(async () => {
    c.send(rpc("server.history.list", { limit: 0 }, 41));
    await c.until((fs) => c.messages().some((m) => m.text.endsWith(',"id":41}')), 120_000);
  });
  const list = c.messages().find((m) => m.text.endsWith(',"id":41}'))!;
  assert.ok(list.frames > 100, `sent in ${list.frames} fragments`);
  assert.equal(list.text, `{"jsonrpc":"2.0","result":${reference},"id":41}`, "byte for byte the HTTP answer's result");
  const parsed = JSON.parse(list.text);
  assert.equal(parsed.result.count, JOBS);
  assert.equal(parsed.result.jobs.length, JOBS);
  assert.equal(parsed.result.jobs[0].job_id, JOBS.toString(16).toUpperCase().padStart(6, "0"), "newest first");
  t.diagnostic(`${(list.text.length / 2 ** 20).toFixed(1)} MiB in ${list.frames} fragments; RSS ${base.toFixed(0)} -> peak ${peak.toFixed(0)} MiB`);
  // Built whole, the reply alone would be two copies of 45 MB (its parts and their join).
  assert.ok(peak - base < 40, `RSS ${base.toFixed(0)} -> peak ${peak.toFixed(0)} MiB while sending ${(list.text.length / 2 ** 20).toFixed(0)} MiB`);
});

test("POST /server/jsonrpc: the same list is a chunked body, whole and parseable; a batch stays capped", { timeout: 180_000 }, async (t) => {
  let reply: Awaited<ReturnType<typeof raw>> | null = null;
  const { base, peak } = await peakDuring(async () => {
    reply = await raw(port, "/server/jsonrpc", { method: "POST", headers: { "Content-Type": "application/json" }, body: rpc("server.history.list", { limit: "0" }, "all"), timeoutMs: 120_000 });
  });
  const r = reply!;
  assert.equal(r.status, 200);
  assert.equal(r.headers["transfer-encoding"], "chunked");
  assert.equal(r.headers["content-type"], "application/json; charset=UTF-8");
  assert.equal(r.text, `{"jsonrpc":"2.0","result":${reference},"id":"all"}`);
  assert.equal(r.body.result.jobs.length, JOBS);
  t.diagnostic(`${(r.text.length / 2 ** 20).toFixed(1)} MiB; RSS ${base.toFixed(0)} -> peak ${peak.toFixed(0)} MiB`);
  assert.ok(peak - base < 40, `RSS ${base.toFixed(0)} -> peak ${peak.toFixed(0)} MiB`);

  // In a batch (one JSON array, built whole) the cap still applies and says so.
  const batch = await raw(port, "/server/jsonrpc", { method: "POST", headers: { "Content-Type": "application/json" }, body: `[${rpc("server.history.totals", {}, 1)},${rpc("server.history.list", { limit: 0 }, 2)}]`, timeoutMs: 120_000 });
  assert.ok(batch.body[0].result.job_totals);
  assert.equal(batch.body[1].error.code, 400);
  assert.match(batch.body[1].error.message, /Answer larger than 16 MiB/);
});

test("a WebSocket client that stops reading mid-list holds up no one; what is sent to it meanwhile waits for the list's end", { timeout: 180_000 }, async (t) => {
  const slow = await FrameClient.connect(port);
  t.after(() => slow.close());
  const other = await RpcClient.connect(`http://127.0.0.1:${port}`);
  t.after(() => other.close());
  const { base, peak } = await peakDuring(async () => {
    slow.send(rpc("server.history.list", { limit: 0 }, 7));
    // Let the first fragments out, then stop reading with the list far from done.
    await slow.until((fs) => fs.some((f) => f.opcode === 1 && !f.fin));
    slow.pause();
    await sleep(1500);

    // Others are served meanwhile: a page, the totals, a whole list of their own, and a change
    // that notifies every client (the stalled one included).
    assert.equal((await other.call("server.history.list", { limit: 5 })).result.jobs.length, 5);
    assert.ok((await other.call("server.history.totals", {})).result.job_totals);
    const all = await other.call("server.history.list", { limit: 0 }, "whole");
    assert.equal(all.result.jobs.length, JOBS);
    assert.equal((await raw(port, "/server/history/totals")).status, 200);
    const note = other.waitFor((m) => m.method === "notify_active_spool_set");
    await other.call("server.spoolman.post_spool_id", { spool_id: 42 });
    assert.equal((await note).params[0].spool_id, 42);
  });
  t.diagnostic(`slow client stalled mid-list: RSS ${base.toFixed(0)} -> peak ${peak.toFixed(0)} MiB`);
  // The stalled client's reply is produced only as it leaves: about 1 MB waits for it, not 45.
  assert.ok(peak - base < 60, `RSS ${base.toFixed(0)} -> peak ${peak.toFixed(0)} MiB`);

  // It reads again: its list arrives whole, and the notification after it, not inside it.
  slow.resume();
  await slow.until(() => slow.messages().some((m) => m.text.includes('"notify_active_spool_set"')), 120_000);
  const messages = slow.messages().map((m) => m.text);
  const listAt = messages.findIndex((m) => m.endsWith(',"id":7}'));
  const noteAt = messages.findIndex((m) => m.includes('"notify_active_spool_set"'));
  assert.ok(listAt !== -1 && noteAt > listAt, `list at ${listAt}, notification at ${noteAt}`);
  assert.equal(messages[listAt], `{"jsonrpc":"2.0","result":${reference},"id":7}`);
  assert.ok(!/websocket.slow_client_dropped/.test(pl.output()), "a short stall is not a drop");
});

test("a WebSocket client that leaves mid-list costs nothing further: the server goes on serving", { timeout: 120_000 }, async () => {
  for (let k = 0; k < 3; k++) {
    const c = await FrameClient.connect(port);
    c.send(rpc("server.history.list", { limit: 0 }, k));
    await c.until((fs) => fs.some((f) => f.opcode === 1 && !f.fin));
    c.close();
  }
  const after = await FrameClient.connect(port);
  after.send(rpc("server.history.list", { limit: 3 }, "after"));
  await after.until(() => after.messages().some((m) => m.text.endsWith(',"id":"after"}')));
  assert.equal(JSON.parse(after.messages().find((m) => m.text.endsWith(',"id":"after"}'))!.text).result.jobs.length, 3);
  after.close();
  await pl.waitFor(/websocket\.close.*websocket\.close.*websocket\.close/s, 30_000);
  assert.ok(!/dispatch_failed|websocket\.error|unhandled/i.test(pl.output()), "no error logged");
  assert.equal(pl.proc.exitCode, null, "still running");
});

test("jobs deleted while a list is on its way are left out of it and not counted; a huge limit streams like limit=0", { timeout: 180_000 }, async (t) => {
  // A limit far past the history: streamed like limit=0, the same answer (not built in memory).
  const huge = await raw(port, "/server/history/list?limit=1000000", { timeoutMs: 120_000 });
  assert.equal(huge.text, `{"result":${reference}}`);
  const slow = await FrameClient.connect(port);
  t.after(() => slow.close());
  const other = await RpcClient.connect(`http://127.0.0.1:${port}`);
  t.after(() => other.close());
  slow.send(rpc("server.history.list", { limit: 0 }, "racing"));
  await slow.until((fs) => fs.some((f) => f.opcode === 1 && !f.fin));
  slow.pause();
  // The oldest jobs come last (newest first): deleted now, before they are sent.
  const gone = ["000001", "000002", "000003", "000004", "000005"];
  for (const uid of gone) assert.deepEqual((await other.call("server.history.delete_job", { uid })).result.deleted_jobs, [uid]);
  slow.resume();
  await slow.until(() => slow.messages().some((m) => m.text.endsWith(',"id":"racing"}')), 120_000);
  const list = JSON.parse(slow.messages().find((m) => m.text.endsWith(',"id":"racing"}'))!.text).result;
  assert.equal(list.jobs.length, JOBS - gone.length);
  assert.equal(list.count, list.jobs.length, "count is the number of jobs sent");
  assert.ok(!list.jobs.some((j: { job_id: string }) => gone.includes(j.job_id)));
});
