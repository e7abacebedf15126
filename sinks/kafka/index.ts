// Kafka publishers: alerts, (later) actions, and dead letters; plus topic provisioning.
export { AlertPublisher } from './alert-publisher.js';
export { ActionPublisher } from './action-publisher.js';
export { DeadLetterPublisher, DLQ_HEADERS, type DeadLetter } from './dead-letters.js';
export { ensureTopics } from './topics.js';
export { idempotentProducer, sendInChunks } from './send.js';
