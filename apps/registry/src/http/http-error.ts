// The error the HTTP layer answers with: a status and a plain-text message, as Consul answers errors.

/** Bad input or a refused request: `status` is the HTTP status, `message` the plain-text body. */
export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "HttpError";
    this.status = status;
  }
}

/** A 400 naming the parameter and the fix. */
export function badRequest(message: string): HttpError {
  return new HttpError(400, message);
}
