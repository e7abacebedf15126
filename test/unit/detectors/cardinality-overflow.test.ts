import { describe, expect, it } from 'vitest';
import {
  CanaryRegressionDetector,
  canaryRegressionSchema,
  CardinalityOverflowDetector,
  CARDINALITY_OVERFLOW_RULE,
  cardinalityOverflowSchema,
  DetectorSet,
  detectorSetSchema,
  OVERFLOW_DIMENSION_VALUE,
  type DetectorInput,
} from '../../../detectors/index.js';
import type { Alert } from '../../../schemas/index.js';
import { MIN, modelWindow, spendWindow, T0 } from './builders.js';

const settings = cardinalityOverflowSchema.parse({});
const overflowVersion = (i: number, region = 'us-east-1') => modelWindow(i, { modelVersion: OVERFLOW_DIMENSION_VALUE, region, dimensions: { model_name: 'llama-3.1-70b', model_version: OVERFLOW_DIMENSION_VALUE, region }, key: `llama-3.1-70b|${OVERFLOW_DIMENSION_VALUE}|${region}` });

/** Feeds each window's inputs, then advances the watermark to the window's end. */
function run(detector: CardinalityOverflowDetector, windows: number, inputsOf: (i: number) => DetectorInput[]): Alert[] {
  const alerts: Alert[] = [];
  for (let i = 0; i < windows; i += 1) {
    for (const input of inputsOf(i)) alerts.push(...detector.observe(input));
    alerts.push(...detector.advance(T0 + (i + 1) * MIN));
  }
  return alerts;
}

describe('cardinality overflow: values folded into __overflow__', () => {
  it('fires once for a dimension however many keys and windows carry the overflow, naming the dimension', () => {
    const alerts = run(new CardinalityOverflowDetector(settings), 30, (i) => [overflowVersion(i, 'us-east-1'), overflowVersion(i, 'eu-west-1'), modelWindow(i)]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ rule: CARDINALITY_OVERFLOW_RULE, status: 'firing', severity: 'warning', key: 'cardinality|model_version', dimensions: { dimension: 'model_version' }, window_start: T0 });
    expect(alerts[0]!.evidence).toContain('dimension model_version');
  });

  it('raises one episode per overflowing dimension', () => {
    const teamOverflow = (i: number) => spendWindow(i, 1, { key: `${OVERFLOW_DIMENSION_VALUE}|exp-1|prod`, dimensions: { team: OVERFLOW_DIMENSION_VALUE, experiment: 'exp-1', environment: 'prod' } });
    const alerts = run(new CardinalityOverflowDetector(settings), 10, (i) => [overflowVersion(i), teamOverflow(i)]);
    expect(alerts.map((a) => a.key).sort()).toEqual(['cardinality|model_version', 'cardinality|team']);
  });

  it('resolves once no window has carried the overflow for the quiet period, and fires anew if it comes back', () => {
    const alerts = run(new CardinalityOverflowDetector(settings), 60, (i) => (i < 10 || i >= 40 ? [overflowVersion(i)] : [modelWindow(i)]));
    expect(alerts.map((a) => `${a.status}@${(a.window_end - T0) / MIN}`)).toEqual(['firing@1', 'resolved@10', 'firing@41']);
    expect(alerts[1]!.alert_id).toBe(alerts[0]!.alert_id);
    expect(alerts[2]!.alert_id).not.toBe(alerts[0]!.alert_id);
  });

  it('stays quiet while no dimension overflows', () => {
    expect(run(new CardinalityOverflowDetector(settings), 30, (i) => [modelWindow(i), spendWindow(i, 1)])).toEqual([]);
  });

  it('runs in the detector set unless disabled', () => {
    const inputs = [overflowVersion(0)];
    expect(new DetectorSet(detectorSetSchema.parse({})).observe(inputs[0]!).map((a) => a.rule)).toContain(CARDINALITY_OVERFLOW_RULE);
    expect(new DetectorSet(detectorSetSchema.parse({ cardinalityOverflow: { enabled: false } })).rules).not.toContain(CARDINALITY_OVERFLOW_RULE);
  });

  it('leaves a folded version out of the canary comparison: it mixes many versions', () => {
    const detector = new CanaryRegressionDetector(canaryRegressionSchema.parse({}));
    const alerts: Alert[] = [];
    for (let i = 0; i < 60; i += 1) {
      alerts.push(...detector.observe(modelWindow(i)));
      alerts.push(...detector.observe({ ...overflowVersion(i), latencyP95Ms: 3000 }));
    }
    expect(alerts).toEqual([]);
    expect(detector.size).toBe(1);
  });
});

