/**
 * The NAB benchmark: runs a series detector over every file of ../shared/data/nab (or
 * $COSTLINE_DATA_DIR/nab) as a stream and scores it with the NAB-style scorer, per profile, both
 * at the best single threshold over the corpus (as the published board does) and at the
 * detector's fixed operating point (score ≥ 0.5, the `alert` flag of `costline detect`).
 *
 *   npm run bench:nab [-- --detector change-point] [--details]
 *
 * The full 58-file corpus scores the same way: lay out github.com/numenta/NAB's data/ folder and
 * labels/combined_windows.json as <dir>/nab/data and <dir>/nab/windows.json, and set
 * COSTLINE_DATA_DIR=<dir>.
 *
 * A benchmark that reports figures, not a test: it skips with a message when the data is absent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createSeriesDetector, DEFAULT_SERIES_DETECTOR } from '../../../detectors/index.js';
import { parseSeriesTimestamp, readSeriesCsv } from '../../../pipeline/cli/commands/detect.js';
import { NAB_PROFILES, optimizeThreshold, scoreAtThreshold, type CorpusScore, type ScoredSeries } from './scorer.js';

/** Files in the full NAB corpus, the one the published board scores. */
const NAB_CORPUS_FILES = 58;

/** The product's operating point: a row alerts when its anomaly score is at least this. */
export const OPERATING_POINT = 0.5;

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export function nabDirectory(): string {
  const dataDir = process.env.COSTLINE_DATA_DIR ?? resolve(projectRoot, '../shared/data');
  return join(dataDir, 'nab');
}

function labelTime(text: string, file: string): number {
  const time = parseSeriesTimestamp(text);
  if (time === undefined) throw new Error(`windows.json: window bound "${text}" of ${file} is not a timestamp`);
  return time;
}

/** Reads and scores every labeled file, in the order windows.json lists them. */
export async function scoreCorpus(directory: string, detectorName: string, onFile?: (name: string, index: number, total: number) => void): Promise<ScoredSeries[]> {
  const labels = JSON.parse(readFileSync(join(directory, 'windows.json'), 'utf8')) as Record<string, Array<[string, string]>>;
  const names = Object.keys(labels);
  const corpus: ScoredSeries[] = [];
  for (const [index, name] of names.entries()) {
    onFile?.(name, index, names.length);
    const detector = createSeriesDetector(detectorName);
    const timestamps: number[] = [];
    const scores: number[] = [];
    for await (const row of readSeriesCsv(join(directory, 'data', name), { keepFileOrder: true })) {
      if ('header' in row) continue;
      timestamps.push(row.timestamp);
      scores.push(detector.score(row.timestamp, row.value).score);
    }
    const windows = labels[name]!.map(([start, end]) => [labelTime(start, name), labelTime(end, name)] as const);
    corpus.push({ series: { name, timestamps, windows }, scores });
  }
  return corpus;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function detections(score: CorpusScore): string {
  const tp = score.files.reduce((s, f) => s + f.truePositives, 0);
  const fn = score.files.reduce((s, f) => s + f.falseNegatives, 0);
  const fp = score.files.reduce((s, f) => s + f.falsePositives, 0);
  return `TP ${tp}  FN ${fn}  FP ${fp}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { detector: { type: 'string', default: DEFAULT_SERIES_DETECTOR }, details: { type: 'boolean', default: false } } });
  const directory = nabDirectory();
  if (!existsSync(join(directory, 'windows.json'))) {
    process.stdout.write(`bench:nab skipped: no NAB data at ${directory} (set COSTLINE_DATA_DIR to the folder holding nab/, see ../shared/data/README.md)\n`);
    return;
  }
  const detector = values.detector!;
  const started = Date.now();
  const corpus = await scoreCorpus(directory, detector, (name, i, total) => process.stderr.write(`${process.stderr.isTTY ? '\r\u001b[K' : ''}scoring ${i + 1}/${total} ${name}${process.stderr.isTTY ? '' : '\n'}`));
  if (process.stderr.isTTY) process.stderr.write('\r\u001b[K');
  const windows = corpus.reduce((s, c) => s + c.series.windows.length, 0);
  process.stdout.write(`NAB-style score of "${detector}" on ${corpus.length} files, ${windows} anomaly windows (${directory}), ${((Date.now() - started) / 1000).toFixed(1)} s\n\n`);
  process.stdout.write(`${pad('profile', 15)}${pad('threshold-optimized', 22)}${pad('threshold', 11)}${pad(`at operating point ${OPERATING_POINT}`, 26)}detections at the operating point\n`);
  for (const profile of NAB_PROFILES) {
    const best = optimizeThreshold(corpus, profile);
    const fixed = scoreAtThreshold(corpus, OPERATING_POINT, profile);
    process.stdout.write(`${pad(profile.name, 15)}${pad(best.normalized.toFixed(1), 22)}${pad(Number.isFinite(best.threshold) ? best.threshold.toFixed(4) : 'none', 11)}${pad(fixed.normalized.toFixed(1), 26)}${detections(fixed)}\n`);
    if (values.details && profile.name === 'standard') {
      process.stdout.write(`\n  per file at the operating point (raw score, standard profile):\n`);
      for (const file of fixed.files) process.stdout.write(`  ${pad(file.name, 64)}${pad(file.raw.toFixed(2), 8)}TP ${file.truePositives}  FN ${file.falseNegatives}  FP ${file.falsePositives}\n`);
      process.stdout.write('\n');
    }
  }
  if (corpus.length < NAB_CORPUS_FILES) process.stdout.write(`\nScores on this ${corpus.length}-file subset are not directly comparable to the published board (${NAB_CORPUS_FILES} files).\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench:nab: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
