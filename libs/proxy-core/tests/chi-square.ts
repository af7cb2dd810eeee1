// Pearson's chi-square goodness-of-fit test for the statistical tests of weights and load
// balancers: counts are compared with expected shares, never with exact numbers.

/** Chi-square statistic of `observed` counts against `expectedShares` (any positive scale). */
export function chiSquare(observed: readonly number[], expectedShares: readonly number[]): number {
  const total = observed.reduce((a, b) => a + b, 0);
  const shareSum = expectedShares.reduce((a, b) => a + b, 0);
  let statistic = 0;
  observed.forEach((count, i) => {
    const expected = (total * (expectedShares[i] ?? 0)) / shareSum;
    if (expected === 0) {
      if (count !== 0) statistic = Infinity;
      return;
    }
    statistic += (count - expected) ** 2 / expected;
  });
  return statistic;
}

/**
 * P(X ≥ statistic) for X ~ chi-square with `degrees` degrees of freedom, by the Wilson–Hilferty
 * cube-root normal approximation (accurate to ~1e-3 for df ≥ 3, enough for a 0.001 threshold).
 */
export function chiSquarePValue(statistic: number, degrees: number): number {
  if (statistic === Infinity) return 0;
  const k = degrees;
  const z = (Math.cbrt(statistic / k) - (1 - 2 / (9 * k))) / Math.sqrt(2 / (9 * k));
  return 1 - normalCdf(z);
}

function normalCdf(z: number): number {
  // Abramowitz & Stegun 7.1.26 for erf.
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** Fails unless `observed` is consistent with `expectedShares` at significance `alpha` (default 0.001). */
export function expectDistribution(observed: readonly number[], expectedShares: readonly number[], alpha = 0.001): void {
  const statistic = chiSquare(observed, expectedShares);
  const degrees = expectedShares.filter((s) => s > 0).length - 1;
  const p = chiSquarePValue(statistic, Math.max(degrees, 1));
  if (p < alpha) {
    throw new Error(`counts ${JSON.stringify(observed)} do not fit shares ${JSON.stringify(expectedShares)}: chi²=${statistic.toFixed(2)}, df=${degrees}, p=${p.toExponential(2)}`);
  }
}
