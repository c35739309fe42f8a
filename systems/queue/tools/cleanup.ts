// Lists the rig queue segments in /dev/shm whose creator and every attached process are dead,
// and removes them with --remove (a dry run by default):
//   node --import tsx systems/queue/tools/cleanup.ts [--remove] [--json]
import { parseArgs } from 'node:util';
import { cleanupStaleSegments, inspectSegments } from '../src/stale.ts';

const { values } = parseArgs({
  options: { remove: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
  strict: true,
});
const inspection = inspectSegments();
const result = cleanupStaleSegments({ remove: values.remove });
if (values.json) {
  console.log(JSON.stringify({ ...result, segments: inspection.segments }, null, 2));
} else {
  for (const s of inspection.segments) {
    const held = s.messages === undefined ? '' : `, ${s.messages} message(s) held`;
    const verdict = s.stale ? (values.remove ? 'removed' : 'stale, would remove') : 'kept';
    console.log(`${s.name}  ${s.bytes} B${held}  ${verdict}: ${s.reason}`);
  }
  const n = result.stale.length;
  console.log(
    values.remove
      ? `${result.removed.length} stale segment(s) removed`
      : `${n} stale segment(s) of ${inspection.segments.length}; dry run, --remove removes them`,
  );
}
