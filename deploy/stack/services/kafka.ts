import { existsSync, mkdirSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { mavenProgress, runStep, type Progress } from '../commands.js';
import { HOST, projectRoot, type StackPorts } from '../layout.js';
import { startDetached, isListening } from '../processes.js';
import type { LocalService } from './service.js';

const KAFKA_VERSION = '3.9.1';

/** Apache Kafka in KRaft combined mode (broker and controller in one process), single node. */
export function kafkaService(dir: string, ports: StackPorts): LocalService {
  const home = join(dir, 'kafka');
  const libDir = join(home, `lib-${KAFKA_VERSION}`);
  const dataDir = join(home, 'data');
  const logFile = join(home, 'kafka.log');
  const propertiesFile = join(home, 'server.properties');
  const log4jFile = join(home, 'log4j.properties');
  const classpath = `${libDir}/*`;

  const writeConfig = () => {
    writeFileSync(
      propertiesFile,
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@${HOST}:${ports.kafkaController}`,
        `listeners=PLAINTEXT://${HOST}:${ports.kafka},CONTROLLER://${HOST}:${ports.kafkaController}`,
        `advertised.listeners=PLAINTEXT://${HOST}:${ports.kafka}`,
        'controller.listener.names=CONTROLLER',
        'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
        `log.dirs=${dataDir}`,
        'num.partitions=3',
        'auto.create.topics.enable=false',
        'offsets.topic.replication.factor=1',
        'offsets.topic.num.partitions=10',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'group.initial.rebalance.delay.ms=0',
        'log.retention.hours=168',
        '',
      ].join('\n'),
    );
    writeFileSync(
      log4jFile,
      [
        'log4j.rootLogger=INFO, file',
        'log4j.logger.org.apache.kafka=WARN',
        'log4j.logger.kafka=INFO',
        'log4j.appender.file=org.apache.log4j.FileAppender',
        `log4j.appender.file.File=${logFile}`,
        'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
        'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
        '',
      ].join('\n'),
    );
  };

  const java = (mainClass: string, args: string[], heap: string) => [
    `-Xms${heap}`,
    `-Xmx${heap}`,
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${log4jFile}`,
    '-cp',
    classpath,
    mainClass,
    ...args,
  ];

  return {
    name: 'kafka',
    logFile,
    pidFile: join(home, 'kafka.pid'),
    ports: [ports.kafka, ports.kafkaController],
    hint: 'check that `java -version` is 17 or newer and that the ports are free; set COSTLINE_STACK_KAFKA_PORT to move it',
    startTimeoutMs: 90_000,
    endpoint: () => `${HOST}:${ports.kafka}`,

    async install(progress: Progress) {
      mkdirSync(home, { recursive: true });
      if (existsSync(libDir) && readdirSync(libDir).some((f) => f.startsWith(`kafka_2.13-${KAFKA_VERSION}`))) return;
      progress(`kafka: installing Apache Kafka ${KAFKA_VERSION} from Maven Central (first run only, ~50 MB)`);
      await runStep('mvn', ['-B', '-f', join(projectRoot, 'deploy/stack/kafka/pom.xml'), `-Dkafka.version=${KAFKA_VERSION}`, `-Dkafka.libDir=${libDir}`, 'package'], {
        logFile: join(home, 'install.log'),
        onLine: mavenProgress('kafka', progress),
      });
      progress(`kafka: installed into ${libDir}`);
    },

    async start(progress: Progress) {
      mkdirSync(dataDir, { recursive: true });
      writeConfig();
      if (!existsSync(join(dataDir, 'meta.properties'))) {
        progress('kafka: formatting KRaft storage');
        await runStep('java', java('kafka.tools.StorageTool', ['format', '-t', randomUUID().replace(/-/g, '').slice(0, 22), '-c', propertiesFile], '128m'), { logFile });
      }
      return startDetached('java', java('kafka.Kafka', [propertiesFile], '768m'), { logFile: join(home, 'stdout.log'), pidFile: join(home, 'kafka.pid') });
    },

    async healthy() {
      if (!(await isListening(HOST, ports.kafka))) return false;
      const admin = new Kafka({ clientId: 'costline-stack', brokers: [`${HOST}:${ports.kafka}`], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1000 }).admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        return cluster.brokers.length > 0 && cluster.controller !== null;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
  };
}
