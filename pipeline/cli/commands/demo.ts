import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { loadConfig } from '../../config/load.js';
import { createLogger } from '../../observability/logger.js';
import { createMetrics } from '../../observability/metrics.js';
import { connect, prepare } from '../../runtime/bootstrap.js';
import { Pipeline } from '../../runtime/pipeline.js';
import { stackUp } from '../../../deploy/stack/stack.js';
import { contracts, valueSubject, WireCodec, type Alert, type TokenUsage } from '../../../schemas/index.js';
import { demoFleet, demoRegression, minuteOfTraffic } from '../../simulate/demo-traffic.js';
import { Random } from '../../simulate/random.js';
import { literal, qualified } from '../../../sinks/clickhouse/index.js';
import { idempotentProducer } from '../../../sinks/kafka/index.js';
import { narrator } from '../narrate.js';
import type { MergedRollup } from '../../core/stage-two.js';
import { seriesKey } from '../../core/rollup-key.js';

const formatTime = (ms: number) => new Date(ms).toISOString().slice(11, 16);

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('everything at once, narrated: stack up, pipeline, a small fleet with one injected latency regression, the alert')
    .option('--minutes <n>', 'simulated minutes of traffic', '36')
    .option('--rate <n>', 'requests per minute per model version and region', '60')
    .option('--pace <ms>', 'wall-clock milliseconds per simulated minute', '600')
    .option('--seed <n>', 'random seed', '7')
    .action(async (options: { minutes: string; rate: string; pace: string; seed: string }) => {
      const say = narrator(process.stdout);
      const minutes = Number(options.minutes);
      const rate = Number(options.rate);
      const pace = Number(options.pace);
      if (!Number.isInteger(minutes) || minutes < demoRegression.startMinute + 6) throw new Error(`--minutes must be a whole number of at least ${demoRegression.startMinute + 6} (the regression starts at minute ${demoRegression.startMinute})`);
      if (!Number.isInteger(rate) || rate < 20) throw new Error('--rate must be a whole number of at least 20 (the detector wants 20 requests per window)');
      if (!Number.isFinite(pace) || pace < 0) throw new Error('--pace must be a number of milliseconds, 0 or more');

      say.headline('costline demo: one model version regresses; costline notices');
      say.step('bringing up the local stack (Apache Kafka, Apicurio Schema Registry, ClickHouse); the first run installs them');
      const endpoints = await stackUp((m) => say.detail(m));
      process.env.KAFKA_BROKERS = endpoints.kafkaBrokers;
      process.env.SCHEMA_REGISTRY_URL = endpoints.schemaRegistryUrl;
      process.env.CLICKHOUSE_URL = endpoints.clickhouseUrl;
      // A consumer group of its own that starts at the end of the topics: the demo reads only what it produces.
      const runId = new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14);
      const config = loadConfig({ file: program.opts().config, env: { ...process.env, COSTLINE__kafka__groupId: `costline-demo-${runId}`, COSTLINE__kafka__startFrom: 'latest' } });
      const logger = createLogger({ level: 'warn', pretty: false });
      const connections = connect(config, '-demo');
      say.step(`preparing: ClickHouse migrations (database ${config.clickhouse.database}), topics, Avro subjects with BACKWARD compatibility`);
      await prepare(config, connections, logger);

      const pipeline = new Pipeline({ config, logger, metrics: createMetrics(new Registry()), ...connections });
      let rollupRows = 0;
      const alerts: Alert[] = [];
      pipeline.on('rollups', (rollups) => {
        const byWindow = new Map<number, MergedRollup[]>();
        for (const r of rollups) if (r.onTime && r.key.kind === 'model') byWindow.set(r.windowStart, [...(byWindow.get(r.windowStart) ?? []), r]);
        const p95 = (r: MergedRollup) => r.aggregate.tokens.latency.quantile(0.95);
        for (const [windowStart, closed] of byWindow) {
          rollupRows += closed.length;
          const worst = closed.reduce((a, b) => (p95(b) > p95(a) ? b : a));
          say.detail(`window ${formatTime(windowStart)} closed: ${closed.length} model rollups, ${closed.reduce((s, r) => s + r.aggregate.tokens.requests, 0)} requests; slowest p95 ${Math.round(p95(worst))} ms (${seriesKey(worst.key)})`);
        }
      });
      pipeline.on('alert', (alert) => {
        alerts.push(alert);
        say.done(`ALERT ${alert.status.toUpperCase()} [${alert.severity}] ${alert.rule} on ${alert.key}: ${alert.evidence}`);
      });
      pipeline.on('sinkFailure', (error, retry) => say.warn(`sink failed (${error.message}); consumption paused, retry in ${retry} ms`));
      say.step(`starting the pipeline: consumer group ${config.kafka.groupId} on ${config.topics.tokens}, 1-minute event-time windows`);
      await pipeline.start();

      const producer = idempotentProducer(connections.kafka);
      await producer.connect();
      const codec = new WireCodec<TokenUsage>(connections.registry, contracts.tokenUsage, valueSubject(config.topics.tokens));
      const random = new Random(Number(options.seed));
      // Simulated time ends now, so the rollups sit where a dashboard looks by default; after an
      // earlier demo run it starts where that one ended, so no window is written twice.
      const previous = await connections.clickhouse.query({
        query: `SELECT toUnixTimestamp(max(window_end)) AS end FROM ${qualified(config.clickhouse.database, 'model_rollup_1m')} WHERE model_name IN (${[...new Set(demoFleet.map((k) => literal(k.model)))].join(', ')})`,
        format: 'JSONEachRow',
      });
      const previousEnd = Number((await previous.json<{ end: number | string }>())[0]?.end ?? 0) * 1000;
      const start = Math.max(Math.floor(Date.now() / 60_000) * 60_000 - minutes * 60_000, previousEnd + 120_000);
      say.step(`producing ${minutes} simulated minutes from ${demoFleet.length} model versions × regions at ${rate} requests/min each; ` +
        `${demoRegression.model} ${demoRegression.version} in ${demoRegression.region} gets ${demoRegression.factor}× slower per token from minute ${demoRegression.startMinute} (${formatTime(start + demoRegression.startMinute * 60_000)} UTC)`);
      let produced = 0;
      for (let minute = 0; minute < minutes; minute++) {
        const minuteStart = start + minute * 60_000;
        const events = demoFleet.flatMap((key) => minuteOfTraffic(key, minuteStart, minute, rate, random, demoRegression));
        events.sort((a, b) => a.event_time - b.event_time);
        const messages = await Promise.all(events.map(async (e) => ({ key: e.endpoint, value: await codec.encode(e) })));
        await producer.send({ topic: config.topics.tokens, acks: -1, messages });
        produced += events.length;
        if (minute === demoRegression.startMinute) say.warn(`minute ${minute}: the regression starts now in event time (${formatTime(minuteStart)} UTC)`);
        if ((minute + 1) % 6 === 0) say.step(`produced ${produced.toLocaleString('en-US')} events (${minute + 1}/${minutes} simulated minutes)`);
        await sleep(pace);
      }
      // Traffic for two more minutes past the end moves the watermark over the last full windows.
      const closing = demoFleet.flatMap((key) => minuteOfTraffic(key, start + minutes * 60_000, minutes, 5, random));
      await producer.send({ topic: config.topics.tokens, acks: -1, messages: await Promise.all(closing.map(async (e) => ({ key: e.endpoint, value: await codec.encode({ ...e, event_time: e.event_time + 60_000 }) }))) });
      await producer.disconnect();

      const deadline = Date.now() + 30_000;
      while (!alerts.some((a) => a.status === 'firing') && Date.now() < deadline) await sleep(250);
      await sleep(config.sink.flushIntervalMs + 500);
      await pipeline.stop();

      const db = config.clickhouse.database;
      const result = await connections.clickhouse.query({
        query: `SELECT concat(model_name, ' ', model_version, ' ', region) AS series, count() AS windows, sum(requests) AS requests,
                 round(avg(latency_p95_ms)) AS avg_p95_ms, round(max(latency_p95_ms)) AS max_p95_ms
                FROM ${qualified(db, 'model_rollup_1m')} FINAL
                WHERE window_start >= toDateTime(${Math.floor(start / 1000)})
                GROUP BY series ORDER BY series`,
        format: 'JSONEachRow',
      });
      const rows = await result.json<{ series: string; windows: string; requests: string; avg_p95_ms: number; max_p95_ms: number }>();
      await connections.close();

      say.headline('what ClickHouse holds for this run (model_rollup_1m FINAL)');
      for (const row of rows) say.detail(`${row.series.padEnd(30)} ${String(row.windows).padStart(3)} windows  ${String(row.requests).padStart(6)} requests  p95 avg ${String(row.avg_p95_ms).padStart(5)} ms  max ${String(row.max_p95_ms).padStart(5)} ms`);
      const firing = alerts.find((a) => a.status === 'firing');
      say.headline('summary');
      say.detail(`${produced.toLocaleString('en-US')} events produced; ${rollupRows} minute rollups of model versions written; ${alerts.length} alert message(s) on ${config.topics.alerts}`);
      if (!firing) {
        say.warn('no alert fired: the regression was not detected in time (see the rollups above)');
        process.exitCode = 1;
      } else {
        say.done(`the injected regression became alert ${firing.alert_id} on ${config.topics.alerts}`);
      }
      say.headline('where to look');
      say.detail(`ClickHouse:  curl -s '${endpoints.clickhouseUrl}/' --data-binary "SELECT window_start, model_version, region, requests, round(latency_p95_ms) AS p95 FROM ${db}.model_rollup_1m FINAL WHERE model_version = '${demoRegression.version}' ORDER BY window_start, region FORMAT PrettyCompact"`);
      say.detail(`alerts:      npx costline tail alerts --from-beginning    (Avro on ${config.topics.alerts}, decoded through the registry)`);
      say.detail(`             curl -s '${endpoints.clickhouseUrl}/' --data-binary "SELECT status, severity, key, evidence FROM ${db}.alerts FINAL ORDER BY window_start FORMAT Vertical"`);
      say.detail('stop the stack: npx costline stack down');
    });
}
