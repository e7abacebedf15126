/**
 * A recorded request trace to replay: arrival times and token counts, in the layout of the Azure
 * LLM inference trace 2023 (Patel et al., "Splitwise", ISCA 2024; github.com/Azure/AzurePublicDataset,
 * CC BY 4.0): TIMESTAMP,ContextTokens,GeneratedTokens, one request per row, in arrival order.
 */

export const TRACE_COLUMNS = ['TIMESTAMP', 'ContextTokens', 'GeneratedTokens'] as const;

export interface TraceRequest {
  /** Arrival, ms after the trace's first request. */
  offsetMs: number;
  inputTokens: number;
  outputTokens: number;
}

export interface RequestTrace {
  name: string;
  requests: TraceRequest[];
  /** From the first arrival to one mean inter-arrival gap past the last: the length of one replay cycle. */
  spanMs: number;
  /** Mean arrivals per second over the span. */
  meanRatePerSecond: number;
}

export class TraceFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceFormatError';
  }
}

function summarize(columns: string): string {
  if (columns === '') return '(none)';
  return columns.length > 120 ? `${columns.slice(0, 117)}...` : columns;
}

/** "2023-11-16 18:17:03.9799600" (UTC, up to 7 fractional digits) or ISO 8601, to ms since the epoch. */
function parseTimestamp(text: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z?$/.exec(text);
  if (!match) return Number.NaN;
  const [, y, mo, d, h, mi, s, fraction = ''] = match;
  const ms = Number(`0.${fraction || '0'}`) * 1000;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) + ms;
}

/** Parses the trace's text; `name` (the file) only goes into error messages. */
export function parseTrace(text: string, name: string): RequestTrace {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').replace(/^\uFEFF/, '').split(',').map((c) => c.trim());
  if (header.length !== TRACE_COLUMNS.length || header.some((c, i) => c !== TRACE_COLUMNS[i])) {
    throw new TraceFormatError(
      `trace ${name} has columns ${summarize(header.join(','))}; expected ${TRACE_COLUMNS.join(',')} (the Azure LLM inference trace 2023 layout). ` +
        'Fix: pass code.csv or conv.csv from AzureLLMInferenceDataset2023, or a CSV with exactly those columns.',
    );
  }
  const arrivals: { at: number; input: number; output: number }[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const [timestamp = '', context = '', generated = ''] = line.split(',');
    const at = parseTimestamp(timestamp.trim());
    const input = Number(context);
    const output = Number(generated);
    if (!Number.isFinite(at) || !Number.isInteger(input) || input < 0 || !Number.isInteger(output) || output < 0) {
      throw new TraceFormatError(`trace ${name}, line ${i + 1}: "${line.slice(0, 120)}" is not a timestamp and two token counts (whole numbers, 0 or more). Fix the row or remove it.`);
    }
    arrivals.push({ at, input, output });
  }
  if (arrivals.length === 0) throw new TraceFormatError(`trace ${name} has a header but no requests. Fix: pass a trace with at least one row.`);
  arrivals.sort((a, b) => a.at - b.at);
  const first = arrivals[0]!.at;
  const last = arrivals[arrivals.length - 1]!.at;
  const meanGap = arrivals.length > 1 ? (last - first) / (arrivals.length - 1) : 1000;
  const spanMs = Math.max(1, Math.round(last - first + meanGap));
  return {
    name,
    requests: arrivals.map((a) => ({ offsetMs: a.at - first, inputTokens: a.input, outputTokens: a.output })),
    spanMs,
    meanRatePerSecond: (arrivals.length * 1000) / spanMs,
  };
}

/**
 * Replays a trace on the simulated clock, looping when it ends. timeScale < 1 compresses the
 * trace's time axis (more requests per second, same order and token counts).
 */
export class TraceReplay {
  private cycle = 0;
  private index = 0;
  private readonly cycleMs: number;

  constructor(
    private readonly trace: RequestTrace,
    private readonly startMs: number,
    private readonly timeScale = 1,
  ) {
    this.cycleMs = trace.spanMs * timeScale;
  }

  /** Requests arriving in [.., untilMs), in arrival order, with their simulated arrival time. */
  take(untilMs: number): { atMs: number; request: TraceRequest; sequence: number }[] {
    const out: { atMs: number; request: TraceRequest; sequence: number }[] = [];
    for (;;) {
      const request = this.trace.requests[this.index]!;
      const atMs = this.startMs + this.cycle * this.cycleMs + request.offsetMs * this.timeScale;
      if (atMs >= untilMs) return out;
      out.push({ atMs, request, sequence: this.cycle * this.trace.requests.length + this.index });
      this.index++;
      if (this.index === this.trace.requests.length) {
        this.index = 0;
        this.cycle++;
      }
    }
  }
}
