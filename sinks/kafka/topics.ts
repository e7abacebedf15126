import type { Admin } from 'kafkajs';

/** How long topics may take to be served after creation before ensureTopics gives up. */
const SERVED_WITHIN_MS = 60_000;
const RETRY_EVERY_MS = 250;

/**
 * A broker that has just started, with many partitions to load, answers metadata requests for a
 * topic it has just created with UNKNOWN_TOPIC_OR_PARTITION (or LEADER_NOT_AVAILABLE) for a few
 * seconds; KafkaJS's createTopics waits out only the latter. Both mean: not served yet.
 */
function notServedYet(error: unknown): boolean {
  const { type, originalError } = (error ?? {}) as { type?: string; originalError?: { type?: string } };
  return [type, originalError?.type].some((t) => t === 'UNKNOWN_TOPIC_OR_PARTITION' || t === 'LEADER_NOT_AVAILABLE');
}

/** Every partition of the topics has a leader: producers and consumers can use them. */
async function served(admin: Admin, topics: string[]): Promise<boolean> {
  const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
  return metadata.length === topics.length && metadata.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
}

/**
 * Creates the topics that are missing (idempotent; existing ones keep their partition counts) and
 * returns once every partition of them has a leader, however long a freshly started broker takes
 * to serve them (up to a minute).
 */
export async function ensureTopics(admin: Admin, topics: string[], partitions: number, servedWithinMs = SERVED_WITHIN_MS): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = [...new Set(topics)].filter((t) => !existing.has(t));
  if (missing.length === 0) return [];
  const deadline = Date.now() + servedWithinMs;
  let toCreate = missing;
  for (;;) {
    try {
      if (toCreate.length > 0) await admin.createTopics({ waitForLeaders: true, topics: toCreate.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: -1 })) });
      toCreate = [];
      if (await served(admin, missing)) return missing;
    } catch (error) {
      if (!notServedYet(error)) throw error;
      // Created, most likely, and not served yet: what the broker lists is not created again.
      const known = new Set(await admin.listTopics());
      toCreate = toCreate.filter((t) => !known.has(t));
    }
    if (Date.now() >= deadline) throw new Error(`the broker did not serve every partition of the new topics ${missing.join(', ')} within ${servedWithinMs / 1000} s${toCreate.length > 0 ? ` (${toCreate.join(', ')} not created yet)` : ''}. Check the broker's log (costline stack status names it) for partitions it failed to load`);
    await new Promise((resolve) => setTimeout(resolve, RETRY_EVERY_MS));
  }
}
