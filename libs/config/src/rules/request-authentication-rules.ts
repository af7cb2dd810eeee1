// Semantic checks of a RequestAuthentication after its schema passed: JWT rules that Istio rejects
// or that cannot verify any token, and the policy's scope (policy-scope.ts). Follows
// istio/istio pkg/config/validation (validateJwtRule).
import type { FieldIssue, FieldPath, SpecRule } from "../field-issue.ts";
import type { JWTRule, RequestAuthenticationSpec } from "../schema/request-authentication.ts";
import { isHeaderName } from "./headers.ts";
import { checkPolicyScope } from "./policy-scope.ts";

/** Checks a RequestAuthentication spec; see the file comment for the source of each rule. */
export const checkRequestAuthentication: SpecRule<RequestAuthenticationSpec> = (spec) => {
  const issues: FieldIssue[] = [...checkPolicyScope(spec)];
  const rules = spec.jwtRules ?? [];
  if (rules.length === 0) {
    issues.push({
      path: ["spec", "jwtRules"],
      message: "the policy has no jwtRules, so it accepts no token and changes nothing",
      hint: "add a jwtRule with the issuer (and jwksUri) of the tokens to accept, or delete the policy",
      severity: "warning",
    });
  }
  rules.forEach((rule, i) => issues.push(...checkJwtRule(rule, ["spec", "jwtRules", i])));
  return issues;
};

function checkJwtRule(rule: JWTRule, path: FieldPath): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const uriField = rule.jwksUri !== undefined ? "jwksUri" : rule.jwks_uri !== undefined ? "jwks_uri" : undefined;
  const uri = rule.jwksUri ?? rule.jwks_uri;

  if (!rule.issuer) {
    if (!uri) {
      issues.push({
        name: "MissingField",
        path: [...path, "issuer"],
        message: "the JWT rule has no issuer (and no jwksUri), so no token can be verified by it",
        hint: "set issuer to the iss claim of the accepted tokens, e.g. https://accounts.google.com",
      });
    } else {
      // Istio accepts this (the iss claim is then not checked); it is rarely what was meant.
      issues.push({
        path: [...path, "issuer"],
        message: `the JWT rule has no issuer, so tokens of any issuer signed by a key from ${JSON.stringify(uri)} are accepted`,
        hint: "set issuer to the iss claim of the accepted tokens",
        severity: "warning",
      });
    }
  }

  const keySources = (["jwksUri", "jwks_uri", "jwks"] as const).filter((k) => rule[k] !== undefined);
  if (keySources.length > 1) {
    const legacyPair = keySources.includes("jwksUri") && keySources.includes("jwks_uri");
    issues.push({
      name: "ExclusiveFields",
      path: [...path, keySources[1] as string],
      message: `fields ${keySources.map((k) => `"${k}"`).join(" and ")} cannot be set together`,
      hint: legacyPair
        ? "jwks_uri is the old spelling of jwksUri; keep only jwksUri"
        : "keep jwks to verify with the keys given inline, or jwksUri to fetch them; not both",
    });
  }

  if (uri !== undefined && uriField !== undefined) issues.push(...checkJwksUri(uri, [...path, uriField]));
  if (rule.jwks !== undefined) issues.push(...checkJwks(rule.jwks, [...path, "jwks"]));

  rule.audiences?.forEach((audience, k) => {
    if (audience === "") issues.push(emptyValue([...path, "audiences", k], "audience"));
  });

  rule.fromHeaders?.forEach((header, k) => {
    const headerPath = [...path, "fromHeaders", k, "name"];
    if (header.name === "") issues.push({ name: "MissingField", path: headerPath, message: "the header name is empty", hint: "name the header carrying the token, e.g. x-jwt-assertion" });
    else if (!isHeaderName(header.name)) issues.push(badHeaderName(headerPath, header.name));
  });
  rule.fromParams?.forEach((param, k) => {
    if (param === "") issues.push(emptyValue([...path, "fromParams", k], "query parameter name"));
  });
  rule.fromCookies?.forEach((cookie, k) => {
    if (cookie === "") issues.push(emptyValue([...path, "fromCookies", k], "cookie name"));
  });

  if (rule.outputPayloadToHeader !== undefined && rule.outputPayloadToHeader !== "" && !isHeaderName(rule.outputPayloadToHeader)) {
    issues.push(badHeaderName([...path, "outputPayloadToHeader"], rule.outputPayloadToHeader));
  }

  rule.outputClaimToHeaders?.forEach((entry, k) => {
    const entryPath = [...path, "outputClaimToHeaders", k];
    if (entry.header === "") {
      issues.push({ name: "MissingField", path: [...entryPath, "header"], message: "the header name is empty", hint: "name the header to set, e.g. x-jwt-sub" });
    } else if (entry.header.startsWith(":")) {
      issues.push({
        path: [...entryPath, "header"],
        message: `${JSON.stringify(entry.header)} is an HTTP/2 pseudo-header, which cannot be set from a claim`,
        hint: "use an ordinary header name, e.g. x-jwt-claim",
      });
    } else if (!/^[-_A-Za-z0-9]+$/.test(entry.header)) {
      issues.push({
        path: [...entryPath, "header"],
        message: `${JSON.stringify(entry.header)} is not a valid header name here`,
        hint: "use only letters, digits, '-' and '_', e.g. x-jwt-sub",
      });
    }
    if (entry.claim === "") {
      issues.push({ name: "MissingField", path: [...entryPath, "claim"], message: "the claim name is empty", hint: "name the claim to copy, e.g. sub" });
    }
  });

  rule.spaceDelimitedClaims?.forEach((claim, k) => {
    if (claim === "") issues.push(emptyValue([...path, "spaceDelimitedClaims", k], "claim name"));
  });

  if (rule.timeout !== undefined && rule.timeout < 1) {
    issues.push({
      path: [...path, "timeout"],
      message: `timeout of ${rule.timeout}ms is too short to fetch a key set`,
      hint: "use at least 1ms, e.g. 5s, or remove timeout",
    });
  }
  return issues;
}

/** Istio fetches the key set itself, so only http and https URLs with a host work. */
function checkJwksUri(uri: string, path: FieldPath): FieldIssue[] {
  const quoted = JSON.stringify(uri);
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(uri)?.[1];
  if (scheme === undefined) {
    return [{ path, message: `${quoted} is not a URL`, hint: `write the full URL, e.g. https://${uri.replace(/^\/+/, "")}` }];
  }
  if (scheme.toLowerCase() !== "http" && scheme.toLowerCase() !== "https") {
    return [{ path, message: `URL scheme "${scheme}" of ${quoted} is not supported`, hint: "use an http:// or https:// URL" }];
  }
  const authority = /^[^:]+:\/\/([^/?#]*)/.exec(uri)?.[1] ?? "";
  const hostPort = /^(?:[^@]*@)?(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(?::([0-9]*))?$/.exec(authority);
  if (/\s/.test(uri) || hostPort === null) {
    return [{ path, message: `${quoted} is not a valid URL`, hint: "write it as https://host[:port]/path, without spaces" }];
  }
  const port = hostPort[2];
  if (port !== undefined && port !== "" && (Number(port) < 1 || Number(port) > 65535)) {
    return [{ path, message: `port ${port} in ${quoted} is out of range`, hint: "use a port between 1 and 65535" }];
  }
  return [];
}

/** A JSON Web Key Set (RFC 7517 §5): an object whose `keys` is a list of keys, each with a `kty`. */
function checkJwks(text: string, path: FieldPath): FieldIssue[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's own message differs between Node versions; keep ours stable.
    return [{ path, message: "jwks is not valid JSON", hint: 'give the key set as JSON: {"keys": [{"kty": "RSA", ...}]}' }];
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return [{ path, message: "jwks is not a JSON Web Key Set (a JSON object with a \"keys\" list)", hint: 'write {"keys": [{"kty": "RSA", ...}]}' }];
  }
  const keys = (parsed as Record<string, unknown>)["keys"];
  if (keys === undefined) {
    const singleKey = "kty" in parsed;
    return [{
      path,
      message: 'jwks has no "keys" list',
      hint: singleKey ? 'this is a single key; wrap it in a set: {"keys": [<the key>]}' : 'write {"keys": [{"kty": "RSA", ...}]}',
    }];
  }
  if (!Array.isArray(keys)) return [{ path, message: 'the "keys" of jwks is not a list', hint: 'write {"keys": [{"kty": "RSA", ...}]}' }];
  if (keys.length === 0) return [{ path, message: "jwks contains no keys, so no token can be verified", hint: "add the issuer's public keys to the \"keys\" list" }];
  const bad = keys.findIndex((key) => typeof key !== "object" || key === null || typeof (key as Record<string, unknown>)["kty"] !== "string");
  if (bad >= 0) {
    return [{ path, message: `key ${bad} of jwks is not a JSON Web Key (an object with "kty")`, hint: 'each key needs at least "kty" (e.g. "RSA", "EC") and its public parameters' }];
  }
  return [];
}

function badHeaderName(path: FieldPath, name: string): FieldIssue {
  return {
    path,
    message: name.startsWith(":") ? `${JSON.stringify(name)} is an HTTP/2 pseudo-header, not usable here` : `${JSON.stringify(name)} is not a valid HTTP header name`,
    hint: "use an ordinary header name: letters, digits and - _ . ! # $ % & ' * + ^ ` | ~, no spaces or colons",
  };
}

function emptyValue(path: FieldPath, what: string): FieldIssue {
  return { path, message: `empty ${what}`, hint: `remove the empty entry or write the ${what}` };
}
