/**
 * A NAB-style scorer, written from the method ../shared/data/README.md describes (the NAB
 * whitepaper and github.com/numenta/NAB are the reference):
 * - the first 15% of each file (at most 750 rows) is probation and not scored;
 * - inside an anomaly window only the earliest detection counts, worth A_tp · s(y)/s(−1), with y
 *   its relative position (−1 at the left edge, −1/width at the right edge, width in rows) and
 *   s(y) = 2/(1 + e^(5y)) − 1;
 *   a window with no detection costs −A_fn;
 * - a detection outside every window costs A_fp · s(y), y being its distance past the right edge
 *   of the preceding window in units of that window's width (−A_fp before any window, and more
 *   than three widths past one);
 * - the corpus score is the sum over files, normalized to 100 · (raw − null)/(perfect − null).
 * Checked against NAB's own sweeper (nab/sweeper.py, Sweeper.calcSweepScore and
 * calcScoreByThreshold) on this corpus: the same raw scores, threshold-optimized and fixed.
 */

export interface NabProfile {
  name: string;
  truePositive: number;
  falsePositive: number;
  falseNegative: number;
}

export const NAB_PROFILES: readonly NabProfile[] = [
  { name: 'standard', truePositive: 1, falsePositive: 0.11, falseNegative: 1 },
  { name: 'reward_low_FP', truePositive: 1, falsePositive: 0.22, falseNegative: 1 },
  { name: 'reward_low_FN', truePositive: 1, falsePositive: 0.11, falseNegative: 2 },
];

/** One labeled file: its row timestamps (ms, in order) and anomaly windows as [start, end] ms, inclusive. */
export interface LabeledSeries {
  name: string;
  timestamps: readonly number[];
  windows: ReadonlyArray<readonly [number, number]>;
}

/** The scaled sigmoid of NAB: +1 far before the right edge, 0 at it, towards −1 far after. */
export function scaledSigmoid(y: number): number {
  // NAB takes anything more than three window widths past a window as the full cost.
  if (y > 3) return -1;
  return 2 / (1 + Math.exp(5 * y)) - 1;
}

const LEFT_EDGE_VALUE = scaledSigmoid(-1);

/** Rows at the start of a file that are never scored: 15% of it, at most 750. */
export function probationRows(rowCount: number): number {
  return Math.min(Math.floor(0.15 * rowCount), 750);
}

/**
 * What a detection at each row would be worth, before profile weights: for a row inside window w,
 * its true-positive value in (0, 1]; for any other row, its false-positive value in [−1, 0].
 */
interface RowValues {
  probation: number;
  /** Window index of each row, or −1 outside every window. */
  windowOf: Int32Array;
  value: Float64Array;
  windowCount: number;
  /**
   * Per window (in time order), whether it reaches past probation. As in NAB, a window wholly
   * inside probation is neither found nor missed.
   */
  scored: boolean[];
}

function rowValues(series: LabeledSeries): RowValues {
  const rows = series.timestamps.length;
  const windowOf = new Int32Array(rows).fill(-1);
  const value = new Float64Array(rows);
  const edges = series.windows.map(([start, end], index) => {
    let left = -1;
    let right = -1;
    for (let i = 0; i < rows; i += 1) {
      const t = series.timestamps[i]!;
      if (t >= start && t <= end) {
        if (left < 0) left = i;
        right = i;
      }
    }
    if (left < 0) throw new Error(`${series.name}: anomaly window ${index} [${new Date(start).toISOString()}, ${new Date(end).toISOString()}] contains no row; check the labels match the file`);
    return { left, right };
  });
  edges.sort((a, b) => a.left - b.left);
  let preceding: { left: number; right: number } | undefined;
  let next = 0;
  for (let i = 0; i < rows; i += 1) {
    const window = edges[next];
    if (window && i >= window.left && i <= window.right) {
      // As NAB's sweeper counts it: the width is the window's row count and the position runs from
      // −1 at the left edge to −1/width at the right edge (a detection there is still worth a little).
      const width = window.right - window.left + 1;
      const y = -(window.right - i + 1) / width;
      windowOf[i] = next;
      value[i] = scaledSigmoid(y) / LEFT_EDGE_VALUE;
      if (i === window.right) {
        preceding = window;
        next += 1;
      }
      continue;
    }
    if (!preceding) value[i] = -1;
    else {
      const width = Math.max(1, preceding.right - preceding.left);
      value[i] = scaledSigmoid((i - preceding.right) / width);
    }
  }
  const probation = probationRows(rows);
  return { probation, windowOf, value, windowCount: edges.length, scored: edges.map((w) => w.right >= probation) };
}

export interface FileScore {
  name: string;
  raw: number;
  truePositives: number;
  falseNegatives: number;
  falsePositives: number;
}

/** The raw score of one file for a set of detections (one boolean per row). */
export function scoreDetections(series: LabeledSeries, detections: readonly boolean[], profile: NabProfile): FileScore {
  if (detections.length !== series.timestamps.length) throw new Error(`${series.name}: ${detections.length} detections for ${series.timestamps.length} rows`);
  const rows = rowValues(series);
  const detected = new Array<number | undefined>(rows.windowCount).fill(undefined);
  let falsePositiveCost = 0;
  let falsePositives = 0;
  for (let i = rows.probation; i < detections.length; i += 1) {
    if (!detections[i]) continue;
    const window = rows.windowOf[i]!;
    if (window < 0) {
      falsePositives += 1;
      falsePositiveCost += profile.falsePositive * rows.value[i]!;
    } else if (detected[window] === undefined) detected[window] = profile.truePositive * rows.value[i]!;
  }
  const truePositives = detected.filter((v) => v !== undefined).length;
  const falseNegatives = rows.scored.filter((scored, w) => scored && detected[w] === undefined).length;
  const windowScore = detected.reduce<number>((sum, v) => sum + (v ?? 0), 0) - profile.falseNegative * falseNegatives;
  return { name: series.name, raw: windowScore + falsePositiveCost, truePositives, falseNegatives, falsePositives };
}

/** What a detector that never detects scores: −A_fn per window that reaches past probation. */
export function nullScore(corpus: readonly LabeledSeries[], profile: NabProfile): number {
  return corpus.reduce((sum, series) => sum - profile.falseNegative * rowValues(series).scored.filter(Boolean).length, 0);
}

/** What a detector that detects at the left edge of every window, and nowhere else, scores (NAB counts every labeled window here). */
export function perfectScore(corpus: readonly LabeledSeries[], profile: NabProfile): number {
  return corpus.reduce((sum, series) => sum + profile.truePositive * series.windows.length, 0);
}

export function normalize(raw: number, corpus: readonly LabeledSeries[], profile: NabProfile): number {
  const nothing = nullScore(corpus, profile);
  const perfect = perfectScore(corpus, profile);
  return perfect === nothing ? 0 : (100 * (raw - nothing)) / (perfect - nothing);
}

export interface ScoredSeries {
  series: LabeledSeries;
  /** Anomaly score of each row, in [0, 1]. */
  scores: readonly number[];
}

export interface CorpusScore {
  threshold: number;
  raw: number;
  normalized: number;
  files: FileScore[];
}

/** The corpus score at one threshold: a row is a detection when its score ≥ threshold. */
export function scoreAtThreshold(corpus: readonly ScoredSeries[], threshold: number, profile: NabProfile): CorpusScore {
  const files = corpus.map(({ series, scores }) => scoreDetections(series, scores.map((s) => s >= threshold), profile));
  const raw = files.reduce((sum, f) => sum + f.raw, 0);
  const labeled = corpus.map((c) => c.series);
  return { threshold, raw, normalized: normalize(raw, labeled, profile), files };
}

/**
 * The best single threshold over the whole corpus, as the published board picks it: every distinct
 * score is a candidate; lowering the threshold past a row adds its detection, and since a window's
 * earliest detection is also its most valuable one, each window's worth is the best it has seen.
 * One sort, one pass.
 */
export function optimizeThreshold(corpus: readonly ScoredSeries[], profile: NabProfile): CorpusScore {
  const candidates: Array<{ score: number; file: number; row: number }> = [];
  const values = corpus.map(({ series, scores }) => {
    if (scores.length !== series.timestamps.length) throw new Error(`${series.name}: ${scores.length} scores for ${series.timestamps.length} rows`);
    return rowValues(series);
  });
  corpus.forEach(({ scores }, file) => {
    for (let row = values[file]!.probation; row < scores.length; row += 1) candidates.push({ score: scores[row]!, file, row });
  });
  candidates.sort((a, b) => b.score - a.score);
  const best = values.map((v) => v.scored.map((scored) => (scored ? -profile.falseNegative : 0)));
  let raw = nullScore(corpus.map((c) => c.series), profile);
  let bestRaw = raw;
  let bestThreshold = Number.POSITIVE_INFINITY;
  for (let i = 0; i < candidates.length; ) {
    const score = candidates[i]!.score;
    for (; i < candidates.length && candidates[i]!.score === score; i += 1) {
      const { file, row } = candidates[i]!;
      const window = values[file]!.windowOf[row]!;
      const value = values[file]!.value[row]!;
      if (window < 0) raw += profile.falsePositive * value;
      else {
        const worth = profile.truePositive * value;
        const previous = best[file]![window]!;
        if (worth > previous) {
          raw += worth - previous;
          best[file]![window] = worth;
        }
      }
    }
    if (raw > bestRaw) {
      bestRaw = raw;
      bestThreshold = score;
    }
  }
  return scoreAtThreshold(corpus, bestThreshold, profile);
}
