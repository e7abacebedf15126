// The ClickHouse sink: client, migrations, batched writers, and the one SQL literal escaper.
export { createClickHouse, serverVersion, type ClickHouseClient } from './client.js';
export { migrate, migrations, type Migration } from './migrations.js';
export { TableWriter } from './table-writer.js';
export { modelRollupRow, ownerSpendRow, providerSpendRow, usageRow, alertRow, actionRow, money, nanosToMoney } from './rows.js';
export { DecimalText, stringifyForClickHouse } from './json.js';
export { identifier, literal, qualified } from './sql.js';
