import { describe, expect, it } from 'vitest';
import { NAB_PROFILES, normalize, nullScore, optimizeThreshold, perfectScore, probationRows, scaledSigmoid, scoreAtThreshold, scoreDetections, type LabeledSeries } from '../../bench/nab/scorer.js';

const standard = NAB_PROFILES.find((p) => p.name === 'standard')!;
const lowFn = NAB_PROFILES.find((p) => p.name === 'reward_low_FN')!;

/** 2,000 rows one minute apart; probation is the first 300; one window over rows 1000-1100. */
function series(windows: Array<[number, number]> = [[1000, 1100]]): LabeledSeries {
  return { name: 'tiny.csv', timestamps: Array.from({ length: 2000 }, (_, i) => i * 60_000), windows: windows.map(([a, b]) => [a * 60_000, b * 60_000] as const) };
}

function detectAt(rows: number[], length = 2000): boolean[] {
  const detections = new Array<boolean>(length).fill(false);
  for (const row of rows) detections[row] = true;
  return detections;
}

describe('NAB-style scorer', () => {
  it('does not score the probation period: 15% of the file, at most 750 rows', () => {
    expect(probationRows(2000)).toBe(300);
    expect(probationRows(10_000)).toBe(750);
    expect(scoreDetections(series([]), detectAt([10, 299]), standard).raw).toBe(0);
  });

  it('scores a detection at the left edge of a window exactly A_tp', () => {
    expect(scoreDetections(series(), detectAt([1000]), standard).raw).toBeCloseTo(1, 12);
  });

  it('scores a detection at the right edge of a window as NAB does: position −1/width, worth almost nothing', () => {
    // The window holds rows 1000-1100: 101 rows wide.
    expect(scoreDetections(series(), detectAt([1100]), standard).raw).toBeCloseTo(scaledSigmoid(-1 / 101) / scaledSigmoid(-1), 12);
    expect(scoreDetections(series(), detectAt([1100]), standard).raw).toBeLessThan(0.03);
  });

  it('scores an earlier detection inside a window more than a later one', () => {
    const middle = scoreDetections(series(), detectAt([1050]), standard).raw;
    expect(middle).toBeCloseTo(scaledSigmoid(-51 / 101) / scaledSigmoid(-1), 12);
    expect(middle).toBeGreaterThan(scoreDetections(series(), detectAt([1080]), standard).raw);
  });

  it('neither credits nor charges a window that lies wholly inside probation', () => {
    const early = series([[100, 200], [1000, 1100]]);
    expect(scoreDetections(early, detectAt([]), standard)).toMatchObject({ raw: -1, falseNegatives: 1 });
    expect(nullScore([early], standard)).toBe(-1);
  });

  it('counts only the earliest detection inside a window', () => {
    expect(scoreDetections(series(), detectAt([1010, 1020, 1090]), standard).raw).toBeCloseTo(scoreDetections(series(), detectAt([1010]), standard).raw, 12);
  });

  it('costs A_fn for a missed window', () => {
    expect(scoreDetections(series(), detectAt([]), standard).raw).toBe(-1);
    expect(scoreDetections(series(), detectAt([]), lowFn).raw).toBe(-2);
  });

  it('costs a false positive long after a window almost the full A_fp, one just after it almost nothing', () => {
    const farAfter = scoreDetections(series(), detectAt([1000, 1900]), standard).raw - 1;
    expect(farAfter).toBeCloseTo(-0.11, 4);
    const justAfter = scoreDetections(series(), detectAt([1000, 1101]), standard).raw - 1;
    expect(justAfter).toBeLessThan(0);
    expect(justAfter).toBeGreaterThan(-0.11 * 0.1);
  });

  it('costs a false positive more than three window widths after a window exactly A_fp', () => {
    expect(scoreDetections(series(), detectAt([1000, 1100 + 301]), standard).raw).toBeCloseTo(1 - 0.11, 12);
  });

  it('costs a false positive before any window the full A_fp', () => {
    expect(scoreDetections(series(), detectAt([500, 1000]), standard).raw).toBeCloseTo(1 - 0.11, 12);
  });

  it('normalizes the null detector to 0 and the perfect one to 100', () => {
    const corpus = [series(), series([[400, 500], [1500, 1600]])];
    expect(normalize(nullScore(corpus, standard), corpus, standard)).toBe(0);
    expect(normalize(perfectScore(corpus, standard), corpus, standard)).toBe(100);
    const perfectRaw = corpus.reduce((sum, s) => sum + scoreDetections(s, detectAt(s.windows.map(([start]) => start / 60_000)), standard).raw, 0);
    expect(normalize(perfectRaw, corpus, standard)).toBeCloseTo(100, 10);
  });

  it('picks the single best threshold over the whole corpus', () => {
    // Row 1000 scores 0.9 (a true positive); row 1500 scores 0.95 and row 600 scores 0.5 (false positives).
    const scores = new Array<number>(2000).fill(0);
    scores[1000] = 0.9;
    scores[1500] = 0.95;
    scores[600] = 0.5;
    const corpus = [{ series: series(), scores }];
    const best = optimizeThreshold(corpus, standard);
    expect(best.threshold).toBe(0.9);
    expect(best.raw).toBeCloseTo(scoreAtThreshold(corpus, 0.9, standard).raw, 12);
    expect(best.raw).toBeGreaterThan(scoreAtThreshold(corpus, 0.5, standard).raw);
    expect(best.raw).toBeGreaterThan(scoreAtThreshold(corpus, 0.95, standard).raw);
  });
});
