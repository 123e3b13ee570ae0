import { test } from "node:test";
import { runDialect } from "./scenarios.js";

test("end to end: buddy", { timeout: 300_000 }, async (t) => {
  await runDialect(t, "buddy", { pauseDetected: true, filamentMeasured: true });
});
