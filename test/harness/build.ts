import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The k8s tests run the proxy and the operator from their build output, as users do: compile once per run. */
export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  execFileSync('npx', ['tsc', '-b', 'proxy', 'operator'], { cwd: root, stdio: 'inherit' });
}
