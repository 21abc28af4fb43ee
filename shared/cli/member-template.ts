import { writeFileSync } from 'node:fs';
import { cliArgsOrExit } from './args.ts';

const USAGE = `usage: npm run member:template [-- --config FILE] [--out FILE] [--check]
Writes the fleet member role template (shared/deploy/member-account-role.yml) from the IAM
generator and the configuration's tag keys.
  --config FILE   the db-autopilot configuration (default db-autopilot.yml)
  --out FILE      where to write it (default shared/deploy/member-account-role.yml; - = stdout)
  --check         write nothing; exit 1 if the file differs from what would be written
  --help          this text`;

const SPEC = {
  name: 'member:template',
  usage: USAGE,
  options: {
    config: { type: 'string' },
    out: { type: 'string' },
    check: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
} as const;

async function main(): Promise<void> {
  const { values } = cliArgsOrExit(SPEC, process.argv.slice(2));
  const [{ loadConfigFile }, { MEMBER_TEMPLATE_PATH, memberRoleYaml }, { readFileSync, existsSync }] =
    await Promise.all([import('../config/load.ts'), import('../deploy/member-role.ts'), import('node:fs')]);
  const config = loadConfigFile(typeof values.config === 'string' ? values.config : 'db-autopilot.yml');
  const text = memberRoleYaml(config);
  const out = typeof values.out === 'string' ? values.out : MEMBER_TEMPLATE_PATH;
  if (values.check) {
    const same = existsSync(out) && readFileSync(out, 'utf8') === text;
    process.stdout.write(same ? `${out} is up to date\n` : `${out} is stale: run npm run member:template\n`);
    process.exitCode = same ? 0 : 1;
    return;
  }
  if (out === '-') process.stdout.write(text);
  else {
    writeFileSync(out, text);
    process.stdout.write(`wrote ${out}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
