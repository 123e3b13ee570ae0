import { test } from "node:test";
import { runDialect } from "./scenarios.js";

test("end to end: marlin2_host", { timeout: 300_000 }, async (t) => {
  await runDialect(t, "marlin2_host", { pauseDetected: true, filamentMeasured: true, printcounter: true });
});
