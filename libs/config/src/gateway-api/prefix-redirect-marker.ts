// The marker Istio's Gateway API conversion puts in front of a VirtualService redirect.uri for a
// RequestRedirect with path type ReplacePrefixMatch (conversion.go createRedirectFilter), which its
// route translation turns into Envoy's redirect prefix_rewrite (route.go translateRedirect). No
// imports: the sidecar's start loads it.

/**
 * `%PREFIX()%/new` as a redirect.uri: replace the prefix the route's match matched with `/new`
 * (the whole path when the match is not a prefix match). Only the conversion writes it: a
 * VirtualService written by a user is refused with it (virtual-service-rules.ts), so a path that
 * happens to start with the marker can never change meaning.
 */
export const prefixRedirectMarker = "%PREFIX()%";
