import { MODEL_METRICS, type ModelMetric } from './inputs.js';

/**
 * The words of evidence sentences, in one place so every rule says money, durations, ratios and
 * "who" the same way. Pure: dates are rendered from event time, in UTC.
 */

const moneyFormats = new Map<string, Intl.NumberFormat>();

/** $1,234.50 for USD; "1,234.50 XYZ" for a code Intl does not know. */
export function formatMoney(amount: number, currency: string): string {
  const digits = Math.abs(amount) >= 100 ? 0 : 2;
  const cacheKey = `${currency}:${digits}`;
  let format = moneyFormats.get(cacheKey);
  if (!format) {
    try {
      format = new Intl.NumberFormat('en-US', { style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: digits });
    } catch {
      format = new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
      moneyFormats.set(cacheKey, format);
      return `${format.format(amount)} ${currency}`;
    }
    moneyFormats.set(cacheKey, format);
  }
  return format.format(amount);
}

/** Amounts below one unit with three significant digits ($0.00312), so prices per token stay readable; larger ones as formatMoney. */
export function formatSmallMoney(amount: number, currency: string): string {
  if (amount === 0 || Math.abs(amount) >= 1) return formatMoney(amount, currency);
  const digits = Math.min(8, Math.max(2, 2 - Math.floor(Math.log10(Math.abs(amount)))));
  // Formats are cached as formatMoney's are: making an Intl.NumberFormat costs far more than using one.
  const cacheKey = `${currency}:small:${digits}`;
  let format = moneyFormats.get(cacheKey);
  if (format === undefined) {
    try {
      format = new Intl.NumberFormat('en-US', { style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: digits });
    } catch {
      return `${amount.toFixed(digits)} ${currency}`;
    }
    moneyFormats.set(cacheKey, format);
  }
  return format.format(amount);
}

/** 45 s, 15 min, 2 h 30 min, 3 d 4 h. */
export function formatDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`;
}

/** 2026-11-21 14:00 UTC. */
export function formatUtc(timestamp: number): string {
  return `${new Date(timestamp).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function formatRatio(ratio: number): string {
  return Number.isFinite(ratio) ? `×${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(1)}` : '×∞';
}

export function formatPercent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

/** A metric value with its unit: "1,240 ms", "2.4%", "$0.42". */
export function formatMetric(metric: ModelMetric, value: number, currency = 'USD'): string {
  switch (metric) {
    case 'latency_p95_ms':
    case 'ttft_p95_ms':
      return `${Math.round(value).toLocaleString('en-US')} ms`;
    case 'tokens_per_gpu_second':
      return `${value.toFixed(value >= 100 ? 0 : 1)} tokens/s`;
    case 'error_rate':
      return `${(value * 100).toFixed(value >= 0.1 ? 0 : 1)}%`;
    case 'cost_per_1k_tokens':
      return `${formatSmallMoney(value, currency)} per 1k tokens`;
  }
}

export function metricLabel(metric: ModelMetric): string {
  return MODEL_METRICS[metric].label;
}

/** The order dimensions are named in, most telling first; the rest follow alphabetically. */
const DIMENSION_ORDER = ['experiment', 'team', 'model_name', 'model_version', 'endpoint', 'environment', 'cluster', 'node', 'service', 'region'];

/**
 * "experiment exp-42 in us-east-1", "team ml-research (prod)", "llama-3.1-70b v2 in eu-west-1":
 * who a key or a contributor is, in words.
 */
export function describeDimensions(dimensions: Record<string, string>): string {
  const { model_name: model, model_version: version, region, environment, ...rest } = dimensions;
  const parts: string[] = [];
  if (model) parts.push(version ? `${model} ${version}` : model);
  else if (version) parts.push(`version ${version}`);
  const others = Object.keys(rest).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  for (const name of others) parts.push(`${name.replace(/_/g, ' ')} ${rest[name]}`);
  let text = parts.join(', ');
  if (environment) text = text ? `${text} (${environment})` : `environment ${environment}`;
  if (region) text = text ? `${text} in ${region}` : `region ${region}`;
  return text || 'the whole fleet';
}

function rank(name: string): number {
  const at = DIMENSION_ORDER.indexOf(name);
  return at < 0 ? DIMENSION_ORDER.length : at;
}
