import { test } from "node:test";
import { runDialect } from "./scenarios.js";

test("end to end: prusa_mk3", { timeout: 300_000 }, async (t) => {
  await runDialect(t, "prusa_mk3", { pauseDetected: true, filamentMeasured: true });
});
