import { describe, expect, it } from 'vitest';
import { CardinalityGuard, OVERFLOW_VALUE } from '../../pipeline/core/cardinality.js';
import { StageOneTask } from '../../pipeline/core/stage-one.js';
import { RateCard } from '../../pipeline/core/rate-card.js';
import { sampleTokenUsage } from '../support/contract-samples.js';

describe('the cardinality guard', () => {
  it('keeps the first values of a dimension up to the limit and folds the rest into the overflow bucket', () => {
    const guard = new CardinalityGuard(2);
    expect(['v1', 'v2', 'v3', 'v1', 'v4'].map((v) => guard.admit('model_version', v))).toEqual(['v1', 'v2', OVERFLOW_VALUE, 'v1', OVERFLOW_VALUE]);
    expect(guard.overflowCounts()).toEqual(new Map([['model_version', 2]]));
    expect(guard.distinct('model_version')).toBe(2);
  });

  it('counts each dimension on its own', () => {
    const guard = new CardinalityGuard(1);
    guard.admit('region', 'us-east-1');
    expect(guard.admit('team', 'search')).toBe('search');
  });

  it('bounds the windows a flood of distinct model versions can open in stage 1', () => {
    const task = new StageOneTask(0, { windowSizeMs: 60_000, allowedLatenessMs: 30_000, maxOutOfOrdernessMs: 5_000, idlePartitionMs: 10_000 }, new RateCard({ gpuRates: [], defaultPerGpuHour: 2, egressPerGb: 0.09 }), new CardinalityGuard(10));
    for (let i = 0; i < 10_000; i++) task.addTokenUsage({ ...sampleTokenUsage, model_version: `v${i}` }, { partition: 'tokens:0', offset: i }, 0);
    const out = task.advance(0);
    expect(out.partials).toHaveLength(0);
    // 10 admitted versions + the overflow bucket for the model key, one owner key: nothing near 10,000.
    expect(task.size).toBeLessThanOrEqual(12);
  });
});
