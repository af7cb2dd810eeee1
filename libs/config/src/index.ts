// Public entry of @meshwork/config: Istio-compatible mesh resources — load and validate them,
// analyze a set of them, and describe them as Kubernetes CRDs.
export { loadResources, locateField } from "./load-resources.ts";
export type { LoadResult, MeshResource, ResourceMetadata, SourceRef, SourceText } from "./load-resources.ts";
export { formatIssue, makeIssue, sortIssues } from "./config-issue.ts";
export { displayKind } from "./display-kind.ts";
export type { ConfigIssue, IssueDetails, ResourceRef } from "./config-issue.ts";
export { issueCodes } from "./issue-codes.ts";
export { retryOnTokens } from "./retry-on-tokens.ts";
export type { IssueCodeInfo, IssueName } from "./issue-codes.ts";
export { findResourceKind, resourceKinds, yamlKindOf } from "./resource-kinds.ts";
export type { AnyResourceKind, KindName, ResourceKind, SpecByKind } from "./resource-kinds.ts";
export { parseDurationMs, formatDurationMs } from "./duration.ts";
export { encodeValue } from "./encode-value.ts";
export { renderCrdFiles, buildCrd } from "./crd-documents.ts";
export type { RenderedFile } from "./crd-documents.ts";
export type { Milliseconds } from "./schema/common.ts";
export type { TelemetrySpec, WorkloadMode, IstioMetricName, CustomTag, TagOverride } from "./schema/telemetry.ts";
export { customMetricNames, telemetryProviders } from "./telemetry-providers.ts";
export { celAttributes, celLiteralText, celSubsetSummary, parseCelExpression } from "./cel-expression.ts";
export type { CelAttribute, CelComparison, CelNode, CelParseResult, CelType } from "./cel-expression.ts";
export type { FieldPath } from "./field-issue.ts";
export { analyzeResources } from "./analysis/analyze-resources.ts";
export { convertGatewayApi, gatewayNameLabel, intersectHosts, isGatewayApiInput, isGatewayApiResource, servedGatewayClasses } from "./gateway-api/convert-gateway-api.ts";
export type { BackendDecision, ConvertGatewayApiOptions, ConvertGatewayApiResult, GatewayApiDecisions, GatewayApiIssue, GatewayDecision, ListenerDecision, ParentDecision, ParentOutcome, RouteDecision, RouteResource } from "./gateway-api/convert-gateway-api.ts";
export type { AnalysisContext, MeshCatalog, CatalogService } from "./analysis/analyze-resources.ts";
