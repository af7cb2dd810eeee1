// productpage's sign-in session: a cookie holding the user name and an HMAC over it, so a client
// cannot pick its `end-user` by editing the cookie (the role Flask's signed session plays in
// Istio's productpage). Replicas that share the secret accept each other's cookies.
import { createHmac, timingSafeEqual } from "node:crypto";

export const SESSION_COOKIE = "session";

export interface SessionCodec {
  /** The Set-Cookie value that signs `user` in. */
  signIn(user: string): string;
  /** The Set-Cookie value that signs out. */
  signOut(): string;
  /** The signed-in user named by a request's Cookie header, if its signature holds. */
  userOf(cookieHeader: string | undefined): string | undefined;
}

export function createSessionCodec(secret: string): SessionCodec {
  const sign = (payload: string): string => createHmac("sha256", secret).update(payload).digest("base64url");
  return {
    signIn: (user) => {
      const payload = Buffer.from(JSON.stringify({ user }), "utf8").toString("base64url");
      return `${SESSION_COOKIE}=${payload}.${sign(payload)}; Path=/; HttpOnly; SameSite=Lax`;
    },
    signOut: () => `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`,
    userOf: (cookieHeader) => {
      const value = readCookie(cookieHeader, SESSION_COOKIE);
      if (value === undefined) return undefined;
      const dot = value.lastIndexOf(".");
      if (dot < 0) return undefined;
      const payload = value.slice(0, dot);
      const given = Buffer.from(value.slice(dot + 1), "base64url");
      const expected = Buffer.from(sign(payload), "base64url");
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      try {
        const parsed: unknown = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
        const user = (parsed as { user?: unknown }).user;
        return typeof user === "string" && user !== "" ? user : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

/** The value of cookie `name` in a Cookie header (`a=1; session=x`). */
export function readCookie(cookieHeader: string | undefined, name: string): string | undefined {
  if (cookieHeader === undefined) return undefined;
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq >= 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
