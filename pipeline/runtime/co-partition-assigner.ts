import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

/**
 * Assigns partition N of every subscribed topic to the same member, so one stage-1 task sees the
 * GPU samples and the billing lines of the same resources (co-partitioned: same key, same
 * partition count), as Kafka Streams does for joins. Deterministic: members sorted by id.
 */
export const CoPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: 'CostlineCoPartitioned',
  version: 1,
  async assign({ members, topics }) {
    const sortedMembers = members.map((m) => m.memberId).sort();
    const partitionCounts = topics.map((topic) => cluster.findTopicPartitionMetadata(topic).length);
    const tasks = Math.max(0, ...partitionCounts);
    const plan = new Map<string, Record<string, number[]>>(sortedMembers.map((id) => [id, {}]));
    for (let task = 0; task < tasks; task++) {
      const member = sortedMembers[task % sortedMembers.length]!;
      const assignment = plan.get(member)!;
      topics.forEach((topic, i) => {
        if (task < partitionCounts[i]!) (assignment[topic] ??= []).push(task);
      });
    }
    return sortedMembers.map((memberId) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: plan.get(memberId)!, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }) {
    return { name: 'CostlineCoPartitioned', metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) };
  },
});
