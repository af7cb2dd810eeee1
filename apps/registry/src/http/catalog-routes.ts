// /v1/catalog/* and /v1/health/* (Consul's catalog_endpoint.go and health_endpoint.go).
import type { HealthStatus } from "../registry-contract.ts";
import { type ApiContext, type ApiRequest, type ApiResponse, jsonResponse, prepareRead, textResponse } from "./api-context.ts";
import { allChecks, allInstances, checksOfNode, filterByState, hasTags, instancesOfNode, matchesNodeMeta, uniqueChecks } from "./catalog-view.ts";
import { parseCatalogDeregister, parseCatalogRegister } from "./consul-decode.ts";
import { type Json, encodeCatalogService, encodeCheck, encodeHealthEntry, encodeNode, encodeService, isPassing } from "./consul-encode.ts";
import { HttpError, badRequest } from "./http-error.ts";
import { parseJsonBody } from "./json-fields.ts";
import { hasFlag, parseNodeMeta, parseTags } from "./query-params.ts";

function methodNotAllowed(request: ApiRequest, allow: string): ApiResponse {
  return textResponse(405, `method ${request.method} not allowed`, { allow });
}

function requireArg(arg: string, what: string, path: string): string {
  if (arg === "") throw badRequest(`Missing ${what}: ${path}`);
  return arg;
}

export async function handleCatalog(ctx: ApiContext, request: ApiRequest, rest: readonly string[]): Promise<ApiResponse> {
  const [verb = "", arg = ""] = rest;
  if (verb === "register" || verb === "deregister") {
    if (request.method !== "PUT") return methodNotAllowed(request, "PUT");
    const body = parseJsonBody(request.body, `the ${verb} body`);
    const result = await ctx.server.write(verb === "register" ? parseCatalogRegister(body) : parseCatalogDeregister(body));
    if (!result.ok) throw new HttpError(500, result.errors?.[0]?.what ?? `catalog ${verb} refused`);
    return jsonResponse(true);
  }
  if (request.method !== "GET") return methodNotAllowed(request, "GET");
  const nodeMeta = parseNodeMeta(request.query);
  switch (verb) {
    case "datacenters":
      // One datacenter per cluster (no WAN federation): Consul lists the local one first.
      return jsonResponse([ctx.datacenter]);
    case "nodes": {
      const { state, headers } = await prepareRead(ctx, request, (reads) => reads.catalogIndex());
      const nodes = state.nodes().filter((node) => matchesNodeMeta(node, nodeMeta));
      return jsonResponse(nodes.map((node) => encodeNode(node, ctx.datacenter)), headers);
    }
    case "services": {
      const { state, headers } = await prepareRead(ctx, request, (reads) => reads.catalogIndex());
      if (nodeMeta.length === 0) return jsonResponse(Object.fromEntries(Object.entries(state.services()).map(([name, tags]) => [name, [...tags]])), headers);
      const services: Record<string, string[]> = {};
      for (const instance of allInstances(state).filter((i) => matchesNodeMeta(i.node, nodeMeta))) {
        const tags = (services[instance.service.service] ??= []);
        for (const tag of instance.service.tags) if (!tags.includes(tag)) tags.push(tag);
      }
      return jsonResponse(services, headers);
    }
    case "service": {
      const name = requireArg(arg, "service name", "GET /v1/catalog/service/<service>");
      const tags = parseTags(request.query);
      const { state, headers } = await prepareRead(ctx, request, (reads) => reads.catalogIndex(name));
      const instances = state.serviceInstances(name).filter((i) => hasTags(i.service, tags) && matchesNodeMeta(i.node, nodeMeta));
      return jsonResponse(instances.map((i) => encodeCatalogService(i, ctx.datacenter)), headers);
    }
    case "node": {
      const nodeName = requireArg(arg, "node name", "GET /v1/catalog/node/<node>");
      const { state, headers } = await prepareRead(ctx, request, (reads) => reads.catalogIndex());
      const node = state.nodes().find((n) => n.node === nodeName);
      if (node === undefined) return jsonResponse(null, headers);
      const services: Record<string, Json> = {};
      for (const instance of instancesOfNode(state, nodeName)) services[instance.service.id] = encodeService(instance.service, ctx.datacenter);
      return jsonResponse({ Node: encodeNode(node, ctx.datacenter), Services: services }, headers);
    }
    default:
      return textResponse(404, `Unknown catalog endpoint /v1/catalog/${verb}`);
  }
}

const healthStates = ["any", "passing", "warning", "critical"] as const;

export async function handleHealth(ctx: ApiContext, request: ApiRequest, rest: readonly string[]): Promise<ApiResponse> {
  if (request.method !== "GET") return methodNotAllowed(request, "GET");
  const [verb = "", arg = ""] = rest;
  switch (verb) {
    case "service": {
      const name = requireArg(arg, "service name", "GET /v1/health/service/<service>");
      const tags = parseTags(request.query);
      const nodeMeta = parseNodeMeta(request.query);
      const passing = hasFlag(request.query, "passing") && request.query.get("passing") !== "false";
      const { state, headers } = await prepareRead(ctx, request, (reads) => reads.catalogIndex(name));
      const instances = state
        .serviceInstances(name)
        .filter((i) => hasTags(i.service, tags) && matchesNodeMeta(i.node, nodeMeta) && (!passing || isPassing(i.checks)));
      return jsonResponse(instances.map((i) => encodeHealthEntry(i, ctx.datacenter)), headers);
    }
    case "checks": {
      const name = requireArg(arg, "service name", "GET /v1/health/checks/<service>");
      const { state, headers } = await prepareRead(ctx, request, (reads) => reads.catalogIndex(name));
      const checks = uniqueChecks(state.serviceInstances(name)).filter((item) => item.service !== undefined);
      return jsonResponse(checks.map(({ check, service }) => encodeCheck(check, service)), headers);
    }
    case "node": {
      const nodeName = requireArg(arg, "node name", "GET /v1/health/node/<node>");
      const { state, headers } = await prepareRead(ctx, request, (reads) => reads.catalogIndex());
      return jsonResponse(checksOfNode(state, nodeName).map(({ check, service }) => encodeCheck(check, service)), headers);
    }
    case "state": {
      const wanted = requireArg(arg, "state", "GET /v1/health/state/<any|passing|warning|critical>");
      if (!(healthStates as readonly string[]).includes(wanted)) throw badRequest(`Invalid state "${wanted}": use any, passing, warning or critical`);
      const { state, headers } = await prepareRead(ctx, request, (reads) => reads.catalogIndex());
      const checks = filterByState(allChecks(state), wanted as HealthStatus | "any");
      return jsonResponse(checks.map(({ check, service }) => encodeCheck(check, service)), headers);
    }
    default:
      return textResponse(404, `Unknown health endpoint /v1/health/${verb}`);
  }
}
