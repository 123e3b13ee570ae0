// What the clients offer but printlog does not do, answered with a clear error that says why
// instead of -32601 "Method not found" (or, worse, a silent success): the job queue (printlog
// records jobs, it does not print), host power and service control (left to the system).

import { badRequest } from "./errors.js";
import type { ApiMethod, HttpVerb } from "./methods.js";

const QUEUE = "printlog records jobs but does not print: the job queue is not available";
const HOST = "printlog does not control the host or its services: use the system's own tools (e.g. systemctl restart printlog)";

const refusal = (rpc: string, verb: HttpVerb, path: string, message: string): ApiMethod => ({
  rpc,
  http: { verb, path },
  handler: () => {
    throw badRequest(message);
  },
});

export function refusedMethods(): ApiMethod[] {
  return [
    refusal("server.job_queue.post_job", "POST", "/server/job_queue/job", QUEUE),
    refusal("server.job_queue.delete_job", "DELETE", "/server/job_queue/job", QUEUE),
    refusal("server.job_queue.pause", "POST", "/server/job_queue/pause", QUEUE),
    refusal("server.job_queue.start", "POST", "/server/job_queue/start", QUEUE),
    refusal("server.job_queue.jump", "POST", "/server/job_queue/jump", QUEUE),
    refusal("machine.reboot", "POST", "/machine/reboot", HOST),
    refusal("machine.shutdown", "POST", "/machine/shutdown", HOST),
    refusal("machine.services.restart", "POST", "/machine/services/restart", HOST),
    refusal("machine.services.start", "POST", "/machine/services/start", HOST),
    refusal("machine.services.stop", "POST", "/machine/services/stop", HOST),
    refusal("server.restart", "POST", "/server/restart", HOST),
  ];
}
