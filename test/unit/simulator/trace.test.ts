import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTrace, TraceFormatError, TraceReplay } from '../../../pipeline/simulate/fleet/index.js';
import { MINUTE, runFleet, START } from './support.js';

const AZURE_TRACE_DIR = fileURLToPath(new URL('../../../../shared/data/azure-llm-2023/', import.meta.url));
const azurePresent = existsSync(join(AZURE_TRACE_DIR, 'code.csv'));

function writeTrace(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'costline-trace-')), 'trace.csv');
  writeFileSync(file, text);
  return file;
}

const SMALL_TRACE = ['TIMESTAMP,ContextTokens,GeneratedTokens', '2023-11-16 18:15:46.6805900,374,44', '2023-11-16 18:15:50.9951690,396,109', '2023-11-16 18:15:51.2000000,1200,7', ''].join('\n');

describe('trace replay', () => {
  it('reads arrivals and token counts from a CSV in the Azure LLM trace layout', () => {
    const file = writeTrace(SMALL_TRACE);
    const trace = parseTrace(readFileSync(file, 'utf8'), file);
    expect(trace.requests).toEqual([
      { offsetMs: 0, inputTokens: 374, outputTokens: 44 },
      { offsetMs: expect.closeTo(4314.579, 2) as number, inputTokens: 396, outputTokens: 109 },
      { offsetMs: expect.closeTo(4519.41, 2) as number, inputTokens: 1200, outputTokens: 7 },
    ]);
  });

  it('refuses a file with other columns, naming them and the layout it expects', () => {
    const file = writeTrace('time,prompt,completion\n2023-11-16 18:15:46,1,2\n');
    expect(() => parseTrace(readFileSync(file, 'utf8'), file)).toThrow(TraceFormatError);
    expect(() => parseTrace(readFileSync(file, 'utf8'), file)).toThrow(/has columns time,prompt,completion; expected TIMESTAMP,ContextTokens,GeneratedTokens/);
  });

  it('refuses a row that is not a timestamp and two token counts, naming the line', () => {
    expect(() => parseTrace('TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.1,12,-3\n', 'bad.csv')).toThrow(/bad\.csv, line 2/);
  });

  it('loops the trace on the simulated clock, compressing its time axis when asked', () => {
    const trace = parseTrace(SMALL_TRACE, 'small');
    const replay = new TraceReplay(trace, START, 0.5);
    const arrivals = replay.take(START + trace.spanMs);
    expect(arrivals.map((a) => a.request.inputTokens)).toEqual([374, 396, 1200, 374, 396, 1200]);
    expect(arrivals[3]!.atMs).toBe(START + trace.spanMs * 0.5);
  });

  it('turns every replayed arrival into a request carrying the trace’s token counts', () => {
    const trace = parseTrace(SMALL_TRACE, 'small');
    const run = runFleet({ seed: 9, spanMs: 10 * MINUTE, trace, peakRatePerSecond: 6 });
    const inputs = new Set(run.tokens.map((t) => t.input_tokens));
    expect(inputs).toEqual(new Set([374, 396, 1200]));
    // Every arrival of the replay became a request (6 per second over 10 minutes, give or take the loop edges).
    expect(run.tokens.length).toBeGreaterThan(3_500);
    expect(run.tokens.length).toBeLessThan(3_700);
    const ok = run.tokens.filter((t) => t.status === 'ok');
    for (const t of ok) expect(t.output_tokens).toBe(t.input_tokens === 374 ? 44 : t.input_tokens === 396 ? 109 : 7);
  });

  it.skipIf(!azurePresent)(`replays the real Azure LLM inference trace 2023 (code.csv)${azurePresent ? '' : ` — skipped: ${AZURE_TRACE_DIR} is absent`}`, () => {
    const file = join(AZURE_TRACE_DIR, 'code.csv');
    const trace = parseTrace(readFileSync(file, 'utf8'), file);
    expect(trace.requests.length).toBeGreaterThan(8_000);
    expect(trace.spanMs).toBeGreaterThan(55 * MINUTE);
    expect(trace.meanRatePerSecond).toBeGreaterThan(1);
    const run = runFleet({ seed: 9, spanMs: 5 * MINUTE, trace, peakRatePerSecond: trace.meanRatePerSecond });
    // At the trace's own pace, the first five minutes of the trace are the first five simulated minutes.
    const inFirstFiveMinutes = trace.requests.filter((r) => r.offsetMs < 5 * MINUTE).length;
    expect(run.tokens.length).toBe(inFirstFiveMinutes);
    const firstInputs = trace.requests.slice(0, 50).map((r) => r.inputTokens).sort((a, b) => a - b);
    const replayed = run.tokens.map((t) => t.input_tokens);
    for (const input of firstInputs) expect(replayed).toContain(input);
  });
});
