import { describe, expect, it } from "vitest";
import { createSessionCodec, readCookie } from "./session-cookie.ts";

describe("createSessionCodec", () => {
  const codec = createSessionCodec("secret");
  const cookieOf = (setCookie: string) => setCookie.split(";")[0];

  it("reads back the user it signed in, among other cookies", () => {
    expect(codec.userOf(`a=1; ${cookieOf(codec.signIn("jason"))}; b=2`)).toBe("jason");
  });

  it("refuses a cookie signed with another secret, edited, or unsigned", () => {
    const signed = cookieOf(codec.signIn("jason")) ?? "";
    expect(createSessionCodec("other").userOf(signed)).toBeUndefined();
    const payload = Buffer.from(JSON.stringify({ user: "admin" })).toString("base64url");
    expect(codec.userOf(`session=${payload}.${signed.split(".")[1] ?? ""}`)).toBeUndefined();
    expect(codec.userOf(`session=${payload}`)).toBeUndefined();
    expect(codec.userOf(undefined)).toBeUndefined();
  });

  it("signs out with an expired empty cookie", () => {
    expect(codec.signOut()).toBe("session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
  });
});

describe("readCookie", () => {
  it("finds a cookie by exact name", () => {
    expect(readCookie("xsession=1; session=2", "session")).toBe("2");
    expect(readCookie("a=1", "session")).toBeUndefined();
  });
});
