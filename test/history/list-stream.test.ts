// `limit=0` (every job) is streamed over HTTP and built job by job over JSON-RPC: the answers
// must be exactly what a page-by-page walk gives, byte for byte over HTTP.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Printlog } from "../../src/main.js";
import { RpcClient, jsonBody, startInProcess } from "../helpers.js";

let app: Printlog;
let url: string;
let close: () => Promise<void>;

before(async () => {
  ({ app, url, close } = await startInProcess());
  for (let i = 0; i < 260; i++) {
    const j = await app.store.startJob({ filename: `f${i}.gcode`, start_time: 1000 + i * 10, metadata: { size: i, note: "é ünïcode ✓" } });
    if (i % 50 !== 49) await app.store.finishJob(j.job_id, i % 4 === 0 ? "cancelled" : "completed", 1005 + i * 10, { total_duration: 5 }, "done");
    else await app.store.interruptOpen(1005 + i * 10);
  }
  await app.store.durable.compactNow(); // most bodies on disk, some changed after in memory
  await app.store.deleteJob("000007");
  await app.store.amendFilament("000010", 99, "m78");
});

after(() => close());

async function pages(query: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let start = 0; ; start += 50) {
    const r = await fetch(`${url}/server/history/list?limit=50&start=${start}${query}`);
    const page = ((await r.json()) as { result: { jobs: unknown[] } }).result.jobs;
    out.push(...page);
    if (page.length < 50) return out;
  }
}

for (const query of ["", "&order=asc", "&since=1500", "&before=2000&order=asc", "&since=1100&before=3000"]) {
  test(`limit=0${query}: HTTP streams exactly the pages' jobs, and JSON-RPC answers the same`, async () => {
    const expected = await pages(query);
    const r = await fetch(`${url}/server/history/list?limit=0${query}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "application/json; charset=UTF-8");
    const text = await r.text();
    assert.equal(text, JSON.stringify({ result: { jobs: expected, count: expected.length } }), "byte for byte");
    assert.ok(expected.length > 0);

    const rpc = await fetch(`${url}/server/jsonrpc`, { method: "POST", ...jsonBody({ jsonrpc: "2.0", method: "server.history.list", params: Object.fromEntries(new URLSearchParams(`limit=0${query}`)), id: 7 }) });
    const body = (await rpc.json()) as { result: { count: number; jobs: unknown[] } };
    assert.deepEqual(body.result, { count: expected.length, jobs: expected });

    const ws = await RpcClient.connect(url);
    const viaWs = await ws.call("server.history.list", Object.fromEntries(new URLSearchParams(`limit=0${query}`)));
    ws.close();
    assert.deepEqual(viaWs.result, { count: expected.length, jobs: expected });
  });
}

test("a page larger than the built-in-memory bound is streamed, the same jobs as smaller pages", async () => {
  const expected = (await pages("&order=asc")).slice(10, 10 + 201);
  const r = await fetch(`${url}/server/history/list?limit=201&start=10&order=asc`);
  assert.equal(r.headers.get("content-length"), null, "streamed, not built");
  assert.equal(await r.text(), JSON.stringify({ result: { jobs: expected, count: 201 } }));
  const small = await fetch(`${url}/server/history/list?limit=200&start=10&order=asc`);
  assert.notEqual(small.headers.get("content-length"), null, "a page of 200 is built");
  assert.deepEqual(((await small.json()) as { result: unknown }).result, { count: 200, jobs: expected.slice(0, 200) });
});
