/**
 * A stage-1 worker thread (started by StageOneWorkers through stage-one-worker.mjs): one full
 * StageOneRunner with clients of its own, reporting to the main thread over its message port.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createMetrics, type MetricsSnapshot } from '../observability/metrics.js';
import { connect } from './bootstrap.js';
import { stageOneConsumer } from './pipeline.js';
import { StageOneRunner } from './stage-one-runner.js';
import type { FromStageOneWorker, StageOneWorkerData, ToStageOneWorker } from './stage-one-workers.js';
import { idempotentProducer } from '../../sinks/kafka/index.js';

/** How often the main thread hears this runner's readiness and state size (its `ready` and `stateSize` getters read the last). */
const STATUS_EVERY_MS = 500;

const port = parentPort!;
const { config, index, internalPartitions, logLevel } = workerData as StageOneWorkerData;
const post = (message: FromStageOneWorker) => port.postMessage(message);

// Lines go to the main thread, whose logger prints them (format, destination, redaction): this one only serializes.
const logger = pino({ level: logLevel, base: undefined }, { write: (line: string) => post({ type: 'log', line }) });
const metrics = createMetrics(new Registry(), { processMetrics: false });
const connections = connect(config, `-stage1-${index}`, logger);
const producer = idempotentProducer(connections.kafka);
const runner = new StageOneRunner({
  config,
  consumer: stageOneConsumer(connections.kafka, config),
  producer,
  clickhouse: connections.clickhouse,
  registry: connections.registry,
  logger,
  metrics,
  now: Date.now,
  internalPartitions,
  onDeadLetter: (letter) => post({ type: 'deadLetter', letter }),
  onFlushFailure: (error, retryInMs) => post({ type: 'sinkFailure', error, retryInMs }),
  gated: true,
});
const reportStatus = () => post({ type: 'status', ready: runner.ready, stateSize: runner.stateSize });

/** Every metric, or only the one named (a poll of one counter should not collect them all). */
async function snapshot(name?: string): Promise<MetricsSnapshot> {
  if (name === undefined) return metrics.registry.getMetricsAsJSON();
  const metric = metrics.registry.getSingleMetric(name);
  return metric ? [await metric.get()] : [];
}

let stopping: Promise<void> | undefined;
/** Graceful: the runner's last partials reach the internal topic and its offsets are committed; then the main thread ends the thread. */
async function stop(): Promise<void> {
  clearInterval(status);
  await started;
  await runner.stop();
  await producer.disconnect();
  await connections.close();
  post({ type: 'stopped', metrics: await metrics.registry.getMetricsAsJSON() });
}

port.on('message', (message: ToStageOneWorker) => {
  if (message.type === 'stop') stopping ??= stop();
  else if (message.type === 'read') runner.openGate();
  else void snapshot(message.name).then((snapshot) => post({ type: 'metrics', id: message.id, metrics: snapshot }));
});
const status = setInterval(reportStatus, STATUS_EVERY_MS);
const started = (async () => {
  await producer.connect();
  await runner.start();
})();
await started;
reportStatus();
post({ type: 'started' });
