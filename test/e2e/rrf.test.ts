import { test } from "node:test";
import { runDialect } from "./scenarios.js";

test("end to end: rrf", { timeout: 300_000 }, async (t) => {
  await runDialect(t, "rrf", { pauseDetected: false, filamentMeasured: true });
});
