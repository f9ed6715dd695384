/**
 * `node dist/test/wire-check.js <log>` validates a whole run's wire log (written by the
 * suites' transports under `AGENTOS_WIRE_LOG`) against the generated JSON Schemas;
 * `scripts/test.sh` runs it after `npm test`. Exits 1 on any violation, or when nothing was
 * recorded (a check that checks nothing proves nothing). Without an argument (as `node --test`
 * runs every file here) it does nothing.
 */
import { checkWire } from "./wire.js";

const path = process.argv[2];
if (path !== undefined) {
  const { checked, refused, violations } = await checkWire(path);
  for (const violation of violations.slice(0, 50)) console.error(violation);
  console.log(
    `wire check: ${checked} payloads against contract.schema.json, ${refused} invalid calls refused by the host, ${violations.length} violations`,
  );
  if (violations.length > 0 || checked === 0) process.exit(1);
}
