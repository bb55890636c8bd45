/**
 * The floor of one Node.js stdio hop: spawns the command in argv and copies bytes both ways,
 * understanding nothing. `stdio via byte relay` in the bench shows what any Node process in
 * the path costs on this machine before the proxy does any work of its own.
 *   node test/bench/byte-relay.ts <command> [args…]   (run with --import tsx)
 */
import { spawn } from 'node:child_process';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  process.stderr.write('usage: byte-relay.ts <command> [args…]\n');
  process.exit(2);
}
const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
process.stdin.pipe(child.stdin);
child.stdout.pipe(process.stdout);
process.stdin.on('end', () => child.kill('SIGTERM'));
child.on('exit', (code) => process.exit(code ?? 0));
