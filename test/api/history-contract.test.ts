// Contract: Moonraker's history API as clients depend on it (reference Part 2, item numbers in
// test names), against a real HTTP port and a real WebSocket client.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Printlog } from "../../src/main.js";
import { http, jsonBody, RpcClient, sleep, startInProcess } from "../helpers.js";
import { request } from "node:http";

/** Sends a body with node:http, which reports an early answer (413) even while still uploading. */
function rawRequest(target: string, method: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(target, { method, headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", (e) => reject(e));
    req.end(body);
  });
}

let app: Printlog;
let url: string;
let close: () => Promise<void>;

before(async () => {
  ({ app, url, close } = await startInProcess());
});

after(() => close());

/** Resets history to jobs with the given [start, end|null, status] and returns their ids. */
async function seed(jobs: [number, number | null, "completed" | "cancelled" | null][]): Promise<string[]> {
  await app.store.deleteAll();
  const ids: string[] = [];
  for (const [start, end, status] of jobs) {
    const j = await app.store.startJob({ filename: `dir/job${start}.gcode`, start_time: start, metadata: { size: start } });
    if (end !== null && status) {
      await app.store.finishJob(j.job_id, status, end, { total_duration: end - start, print_duration: end - start - 1, filament_used: 10 }, "test");
    }
    ids.push(j.job_id);
  }
  return ids;
}

const list = async (query: string) => (await http(`${url}/server/history/list${query}`)).body.result;

test("§1 success: 200, application/json; charset=UTF-8, {result}", async () => {
  const r = await http(`${url}/server/history/totals`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-type"), "application/json; charset=UTF-8");
  assert.ok("result" in r.body && "job_totals" in r.body.result);
});

test("§2 errors: missing uid 400, bad bool 400, wrong verb 405, unknown path 404, all with JSON bodies", async () => {
  let r = await http(`${url}/server/history/job`);
  assert.equal(r.status, 400);
  assert.deepEqual(r.body.error.code, 400);
  assert.equal(r.body.error.message, "No data for argument: uid");
  assert.equal(typeof r.body.error.traceback, "string");
  r = await http(`${url}/server/history/job?all=1`, { method: "DELETE" });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.message, "Unable to convert argument [all] to <class 'bool'>: value received: 1");
  r = await http(`${url}/server/history/list`, { method: "DELETE" });
  assert.equal(r.status, 405);
  assert.equal(r.body.error.code, 405);
  r = await http(`${url}/server/history/nothing`);
  assert.equal(r.status, 404);
  assert.equal(r.body.error.code, 404);
  assert.match(r.headers.get("content-type") ?? "", /application\/json/);
});

test("§3 arguments: query and JSON body (body wins), unknown ignored, type hints, bool strings any case", async () => {
  await seed([[10, 20, "completed"], [30, 40, "completed"], [50, 60, "completed"]]);
  assert.equal((await list("?limit=1&max=100&foo=bar")).count, 1);
  assert.equal((await list("?limit:int=2")).count, 2);
  const viaBody = await http(`${url}/server/history/list?limit=1`, {
    method: "GET",
    headers: { "Content-Type": "application/json" },
    body: undefined,
  });
  assert.equal(viaBody.body.result.count, 1);
  const bodyWins = await http(`${url}/server/history/reset_totals?x=1`, jsonBody({ unknown: true }));
  assert.equal(bodyWins.status, 200);
  const del = await http(`${url}/server/history/job?all=TRUE`, { method: "DELETE" });
  assert.equal(del.status, 200);
  assert.equal(del.body.result.deleted_jobs.length, 3);
  const bad = await http(`${url}/server/history/list?limit:int=abc`);
  assert.equal(bad.status, 400);
});

test("§3 a JSON body overrides the query string", async () => {
  const [first, second] = await seed([[10, 20, "completed"], [30, 40, "completed"]]);
  const r = await http(`${url}/server/history/job?uid=${first}`, {
    method: "DELETE",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ uid: second }),
  });
  assert.deepEqual(r.body.result, { deleted_jobs: [second] });
  assert.equal(app.store.getJob(first!)?.job_id, first, "the query's uid was not used");
  assert.equal(app.store.getJob(second!), undefined);
});

test("§4 JSON-RPC over HTTP: 200 always, -32600, -32601, -32602, -32700, batches, notifications", async () => {
  const rpc = (body: string, type = "application/json") =>
    http(`${url}/server/jsonrpc`, { method: "POST", headers: { "Content-Type": type }, body });
  let r = await rpc(JSON.stringify({ jsonrpc: "2.0", method: "server.history.totals", id: 7 }));
  assert.equal(r.status, 200);
  assert.equal(r.body.id, 7);
  assert.ok(r.body.result.job_totals);
  r = await rpc(JSON.stringify({ jsonrpc: "1.0", method: "server.history.totals", id: 1 }));
  assert.deepEqual(r.body.error, { code: -32600, message: "Invalid Request" });
  r = await rpc(JSON.stringify({ jsonrpc: "2.0", method: "server.nothing", id: 2 }));
  assert.equal(r.body.error.code, -32601);
  r = await rpc(JSON.stringify({ jsonrpc: "2.0", method: "server.history.list", params: [1], id: 3 }));
  assert.equal(r.body.error.code, -32602);
  r = await rpc("{not json");
  assert.equal(r.status, 200);
  assert.equal(r.body.error.code, -32700);
  assert.equal(r.body.id, null);
  r = await rpc(JSON.stringify([
    { jsonrpc: "2.0", method: "server.history.totals", id: "a" },
    { jsonrpc: "2.0", method: "server.history.totals" },
    { jsonrpc: "2.0", method: "server.history.get_job", params: { uid: "FFFF" } },
  ]));
  assert.equal(r.body.length, 2, "the successful notification gets no reply");
  assert.equal(r.body[0].id, "a");
  assert.equal(r.body[1].id, null, "an error to a notification carries id null");
  assert.equal(r.body[1].error.code, -32601);
  r = await rpc(JSON.stringify({ jsonrpc: "2.0", method: "server.history.totals" }));
  assert.equal(r.status, 200);
  assert.equal(r.body, null);
  r = await rpc(JSON.stringify({ jsonrpc: "2.0", method: "server.history.totals", id: 1 }), "text/plain");
  assert.equal(r.status, 400);
});

test("§5 JSON-RPC error codes: 404 -> -32601 with Moonraker's message, 400 passes through", async () => {
  await seed([]);
  const ws = await RpcClient.connect(url);
  try {
    let r = await ws.call("server.history.get_job", { uid: "0000FF" });
    assert.deepEqual(r.error, { code: -32601, message: "Invalid job uid: 0000FF" });
    r = await ws.call("server.history.list", { order: "sideways" });
    assert.deepEqual(r.error, { code: 400, message: "Invalid `order` value: SIDEWAYS" });
    r = await ws.call("server.history.get_job", { uid: "not-hex" });
    assert.equal(r.error.code, 400, "Part 3: a non-hex uid is a 400");
    r = await ws.call("server.history.totals", undefined, 0);
    assert.equal(r.id, 0, "id 0 is a real id");
    assert.ok(r.result.job_totals);
  } finally {
    ws.close();
  }
});

test("§6 method names match the paths, over WebSocket", async () => {
  const ids = await seed([[10, 20, "completed"]]);
  const ws = await RpcClient.connect(url);
  try {
    assert.equal((await ws.call("server.history.list", {})).result.count, 1);
    assert.ok((await ws.call("server.history.totals")).result.job_totals);
    assert.equal((await ws.call("server.history.get_job", { uid: ids[0] })).result.job.job_id, ids[0]);
    assert.deepEqual((await ws.call("server.history.delete_job", { uid: ids[0] })).result, { deleted_jobs: [ids[0]] });
    assert.ok((await ws.call("server.history.reset_totals")).result.last_totals);
    const batch = await new Promise<any>((resolve) => {
      ws.ws.once("message", (d) => resolve(JSON.parse(d.toString())));
      ws.sendRaw(JSON.stringify([{ jsonrpc: "2.0", method: "server.history.totals", id: 900 }]));
    });
    assert.ok(Array.isArray(batch) && batch[0].id === 900, "batches work over the WebSocket too");
  } finally {
    ws.close();
  }
});

test("§7 notify_history_changed on add and finish, to every client; nothing on delete or reset", async () => {
  await seed([]);
  const a = await RpcClient.connect(url);
  const b = await RpcClient.connect(url);
  try {
    const job = await app.store.startJob({ filename: "notify.gcode", start_time: 1000 });
    for (const c of [a, b]) {
      const added = await c.waitFor((m) => m.method === "notify_history_changed" && m.params[0].action === "added");
      assert.equal(added.jsonrpc, "2.0");
      assert.equal(added.params[0].job.job_id, job.job_id);
      assert.equal(added.params[0].job.status, "in_progress");
    }
    await app.store.finishJob(job.job_id, "completed", 1100, { total_duration: 100 }, "done");
    const fin = await a.waitFor((m) => m.method === "notify_history_changed" && m.params[0].action === "finished");
    assert.equal(fin.params[0].job.status, "completed");
    assert.equal(fin.params[0].job.end_time, 1100);
    const before = a.messages.length;
    await http(`${url}/server/history/job?uid=${job.job_id}`, { method: "DELETE" });
    await http(`${url}/server/history/reset_totals`, { method: "POST" });
    await sleep(150);
    assert.equal(a.messages.filter((m, i) => i >= before && m.method === "notify_history_changed").length, 0);
  } finally {
    a.close();
    b.close();
  }
});

test("§8-10 job records: Moonraker's keys, metadata always an object, aux always an array, user 'No User'", async () => {
  await seed([[10, 20, "completed"]]);
  const job = (await list("")).jobs[0];
  for (const key of ["job_id", "user", "filename", "status", "start_time", "end_time", "print_duration", "total_duration", "filament_used", "metadata", "auxiliary_data", "exists"]) {
    assert.ok(key in job, `has ${key}`);
  }
  assert.equal(job.user, "No User");
  assert.deepEqual(job.metadata, { size: 10 });
  assert.ok(Array.isArray(job.auxiliary_data));
  assert.equal(job.exists, false);
  assert.equal(job.filename, "dir/job10.gcode");
});

test("§9 uids are parsed as hex (lower case, unpadded, 0x) and echoed as sent", async () => {
  await seed([[1, 2, "completed"], [3, 4, "completed"], [5, 6, "completed"], [7, 8, "completed"], [9, 10, "completed"], [11, 12, "completed"], [13, 14, "completed"], [15, 16, "completed"], [17, 18, "completed"], [19, 20, "completed"]]);
  const ids = app.store.jobs.map((j) => j.job_id);
  const tenth = ids[9]!; // e.g. "0000xx"
  const num = parseInt(tenth, 16);
  for (const form of [num.toString(16), num.toString(16).toLowerCase().padStart(6, "0"), `0x${num.toString(16).toUpperCase()}`]) {
    const r = await http(`${url}/server/history/job?uid=${encodeURIComponent(form)}`);
    assert.equal(r.status, 200, form);
    assert.equal(r.body.result.job.job_id, form, "echoed as given");
  }
  const del = await http(`${url}/server/history/job?uid=${num.toString(16)}`, { method: "DELETE" });
  assert.deepEqual(del.body.result, { deleted_jobs: [num.toString(16)] });
});

test("§14 ordered by job_id (not start time), default desc, order case-insensitive, bad order 400", async () => {
  await seed([[500, 600, "completed"], [100, 200, "completed"], [300, 400, "completed"]]);
  const ids = app.store.jobs.map((j) => j.job_id);
  assert.deepEqual((await list("")).jobs.map((j: any) => j.job_id), [...ids].reverse());
  assert.deepEqual((await list("?order=AsC")).jobs.map((j: any) => j.job_id), ids);
  const r = await http(`${url}/server/history/list?order=foo`);
  assert.equal(r.status, 400);
  assert.equal(r.body.error.message, "Invalid `order` value: FOO");
});

test("§15 limit defaults to 50; limit <= 0 returns all and ignores start; start pages", async () => {
  const rows: [number, number, "completed"][] = [];
  for (let i = 0; i < 60; i++) rows.push([i * 10, i * 10 + 5, "completed"]);
  await seed(rows);
  assert.equal((await list("")).count, 50);
  assert.equal((await list("?limit=0&start=55")).count, 60);
  assert.equal((await list("?limit=-1&start=10")).count, 60);
  const page = await list("?limit=5&start=57&order=asc");
  assert.equal(page.count, 3);
  assert.equal(page.jobs[0].start_time, 570);
});

test("§16 before -> end_time < before, since -> start_time > since, both strict, -1 disables, running jobs drop out of before", async () => {
  await seed([[100, 200, "completed"], [300, 400, "cancelled"], [500, null, null]]);
  const starts = async (q: string) => (await list(q)).jobs.map((j: any) => j.start_time).sort((a: number, b: number) => a - b);
  assert.deepEqual(await starts("?before=400"), [100], "strict: end_time 400 is not before 400");
  assert.deepEqual(await starts("?before=401"), [100, 300]);
  assert.deepEqual(await starts("?before=100000"), [100, 300], "the in-progress job (end_time null) drops out");
  assert.deepEqual(await starts("?since=300"), [500], "strict: start 300 is not after 300");
  assert.deepEqual(await starts("?since=-1&before=-1"), [100, 300, 500]);
  assert.deepEqual(await starts("?since=99.5&before=400.5"), [100, 300]);
});

test("§17 count is the number returned, not the number matching", async () => {
  await seed([[1, 2, "completed"], [3, 4, "completed"], [5, 6, "completed"]]);
  const r = await list("?limit=2");
  assert.equal(r.count, 2);
  assert.equal(r.jobs.length, 2);
});

test("§18-19 get_job and delete_job: unknown uid 404, delete all ignores uid and answers every id, totals unchanged", async () => {
  const ids = await seed([[1, 2, "completed"], [3, 4, "completed"]]);
  let r = await http(`${url}/server/history/job?uid=ABCDEF`);
  assert.equal(r.status, 404);
  assert.equal(r.body.error.message, "Invalid job uid: ABCDEF");
  r = await http(`${url}/server/history/job?uid=ABCDEF`, { method: "DELETE" });
  assert.equal(r.status, 404);
  r = await http(`${url}/server/history/job?uid=${ids[0]}`);
  assert.deepEqual(Object.keys(r.body.result), ["job"]);
  const totalsBefore = (await http(`${url}/server/history/totals`)).body.result;
  r = await http(`${url}/server/history/job?all=true&uid=ZZZ`, { method: "DELETE" });
  assert.deepEqual(r.body.result, { deleted_jobs: ids });
  assert.deepEqual((await http(`${url}/server/history/totals`)).body.result, totalsBefore);
});

test("§20-22 totals shape; reset refused while a job runs; reset answers the last totals and zeroes", async () => {
  await seed([]);
  await http(`${url}/server/history/reset_totals`, { method: "POST" });
  await seed([[0, 100, "completed"], [200, 260, "cancelled"]]);
  const t = (await http(`${url}/server/history/totals`)).body.result;
  assert.deepEqual(Object.keys(t), ["job_totals", "auxiliary_totals"]);
  assert.deepEqual(t.job_totals, {
    total_jobs: 2,
    total_time: 160,
    total_print_time: 158,
    total_filament_used: 20,
    longest_job: 100,
    longest_print: 99,
  });
  const running = await app.store.startJob({ filename: "run.gcode", start_time: 1000 });
  let r = await http(`${url}/server/history/reset_totals`, { method: "POST" });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.message, "Job in progress, cannot reset totals");
  await app.store.finishJob(running.job_id, "completed", 1010, { total_duration: 10, print_duration: 10 }, "t");
  r = await http(`${url}/server/history/reset_totals`, { method: "POST" });
  assert.equal(r.body.result.last_totals.total_jobs, 3);
  assert.deepEqual(r.body.result.last_auxiliary_totals, []);
  assert.equal((await http(`${url}/server/history/totals`)).body.result.job_totals.total_jobs, 0);
});

test("hostile input: huge bodies are 413, malformed JSON bodies 400, the server stays up", async () => {
  const bigDelete = await rawRequest(`${url}/server/history/job`, "DELETE", JSON.stringify({ uid: "1", pad: "x".repeat(2 * 1024 * 1024) }));
  assert.equal(bigDelete, 413);
  const bigRpc = await rawRequest(`${url}/server/jsonrpc`, "POST", "[" + "1,".repeat(700_000) + "1]");
  assert.equal(bigRpc, 413);
  const malformed = await http(`${url}/server/history/job`, { method: "DELETE", headers: { "Content-Type": "application/json" }, body: "{oops" });
  assert.equal(malformed.status, 400);
  const arrayBody = await http(`${url}/server/history/job`, { method: "DELETE", headers: { "Content-Type": "application/json" }, body: "[1]" });
  assert.equal(arrayBody.status, 400);
  const manyArgs = await http(`${url}/server/history/list?${Array.from({ length: 200 }, (_, i) => `a${i}=1`).join("&")}`);
  assert.equal(manyArgs.status, 400);
  assert.equal((await http(`${url}/server/history/totals`)).status, 200);
});
