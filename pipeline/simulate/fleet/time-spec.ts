/**
 * Points and lengths of simulated time as people write them: "90s", "45m", "2h30m", "1d";
 * a share of the run ("40%"); or an ISO 8601 instant.
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "2h30m" → 9_000_000. Undefined when the text is not a duration. */
export function parseDurationMs(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const match of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) total += Number(match[1]) * UNIT_MS[match[2]!]!;
  return Math.round(total);
}

/**
 * An instant of the simulated span: an offset from its start ("45m", "+2h"), a share of it
 * ("40%"), or an ISO instant. A number is milliseconds after the start.
 */
export function resolveInstant(value: string | number, startMs: number, spanMs: number, what: string): number {
  if (typeof value === 'number') return startMs + value;
  const text = value.trim();
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (percent) return startMs + Math.round((Number(percent[1]) / 100) * spanMs);
  const duration = parseDurationMs(text.replace(/^\+/, ''));
  if (duration !== undefined) return startMs + duration;
  const iso = Date.parse(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && Number.isFinite(iso)) return iso;
  throw new Error(`${what} "${value}" is not a time: use an offset from the simulated start (45m, 2h30m), a share of the run (40%), or an ISO instant (2026-11-20T14:00:00Z).`);
}
