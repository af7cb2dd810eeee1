// Kubernetes label selector matching (apimachinery metav1.LabelSelectorAsSelector): what a
// Gateway listener's allowedRoutes.namespaces.selector admits. Pure, no imports: the sidecar's
// start loads it with the conversion.

/** A Kubernetes `LabelSelector`, as the Gateway schema decodes it. */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>> | undefined;
  readonly matchExpressions?: readonly { readonly key: string; readonly operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; readonly values?: readonly string[] | undefined }[] | undefined;
}

/**
 * Whether `labels` satisfy every condition of `selector`: each matchLabels pair; In (the label is
 * set to one of the values), NotIn (unset, or set to none of them), Exists, DoesNotExist. An
 * empty selector selects everything, as in Kubernetes.
 */
export function selectsLabels(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const value = Object.hasOwn(labels, key) ? labels[key] : undefined;
    switch (operator) {
      case "In":
        if (value === undefined || !values.includes(value)) return false;
        break;
      case "NotIn":
        if (value !== undefined && values.includes(value)) return false;
        break;
      case "Exists":
        if (value === undefined) return false;
        break;
      case "DoesNotExist":
        if (value !== undefined) return false;
        break;
    }
  }
  return true;
}
