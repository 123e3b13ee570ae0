// The API's one error catalogue: each code maps to an HTTP status, and the HTTP status maps to a
// JSON-RPC code exactly as Moonraker does (404 -> -32601, 401 -> -32602, others pass through).

export type ApiErrorCode =
  | "bad_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "payload_too_large"
  | "answer_too_large"
  | "too_many_connections"
  | "storage_unavailable"
  | "klippy_unavailable"
  | "internal";

const HTTP_STATUS: Record<ApiErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  // The request asks for more than one answer may hold: the client can ask for less (limit/start).
  answer_too_large: 400,
  too_many_connections: 503,
  storage_unavailable: 503,
  klippy_unavailable: 503,
  internal: 500,
};

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ApiError";
    this.status = HTTP_STATUS[code];
  }

  /** The JSON-RPC error code for this error (Moonraker's mapping). */
  get rpcCode(): number {
    if (this.status === 404) return -32601;
    if (this.status === 401) return -32602;
    return this.status;
  }

  /** Moonraker's HTTP error body. */
  toHttpBody(): { error: { code: number; message: string; traceback: string } } {
    return { error: { code: this.status, message: this.message, traceback: "" } };
  }
}

export const badRequest = (message: string): ApiError => new ApiError("bad_request", message);
export const notFound = (message: string): ApiError => new ApiError("not_found", message);

/** File-system errors a client's path can cause: its fault or a plain miss, never a 500. */
const FS_ERRORS: Record<string, [ApiErrorCode, string]> = {
  ENOENT: ["not_found", "Not found"],
  ENOTDIR: ["not_found", "Not found (a path component is not a directory)"],
  ELOOP: ["not_found", "Not found (too many symbolic links)"],
  EISDIR: ["bad_request", "Path is a directory"],
  ENAMETOOLONG: ["bad_request", "Path too long"],
  ERR_INVALID_ARG_VALUE: ["bad_request", "Invalid path"],
};

/** Wraps anything thrown by a handler into an ApiError without leaking internals. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { code?: string; message?: string };
  if (e?.code === "storage_failed") {
    return new ApiError("storage_unavailable", e.message ?? "storage unavailable", { cause: err });
  }
  const fs = e?.code !== undefined ? FS_ERRORS[e.code] : undefined;
  if (fs) return new ApiError(fs[0], fs[1], { cause: err });
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    return new ApiError("bad_request", "Request nested too deeply", { cause: err });
  }
  return new ApiError("internal", `Internal error: ${e?.message ?? String(err)}`, { cause: err });
}
