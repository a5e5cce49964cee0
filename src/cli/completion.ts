import { PassThrough, Writable } from 'node:stream';
import { TenantGuardError } from '../errors.js';
import { seeHelp } from './config-flag.js';
import { EXIT_OK, EXIT_USAGE, type CliIO, type Command } from './io.js';

const HELP = `usage: tenant-guard completion bash|zsh

Print a shell completion script for tenant-guard's commands and flags.

  source <(tenant-guard completion bash)        # bash, this shell
  tenant-guard completion zsh > "\${fpath[1]}/_tenant-guard"   # zsh
`;

/** A command's flags, read from its own --help (so completion never drifts from the commands). */
async function flagsOf(run: Command): Promise<string[]> {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      text += chunk.toString();
      cb();
    },
  });
  const stdin = new PassThrough();
  stdin.end();
  await run(['--help'], { stdin, stdout: sink, stderr: sink, env: {}, cwd: process.cwd() });
  const flags = new Set<string>();
  // Flag columns of the help: "  -f, --filename PATH", "      --state PATH".
  for (const m of text.matchAll(/^\s+(?:(-[a-zA-Z]), )?(--[a-z][a-z0-9-]*)/gm)) {
    if (m[1]) flags.add(m[1]);
    flags.add(m[2]!);
  }
  return [...flags].sort();
}

function bash(table: [string, string[]][]): string {
  const names = table.map(([n]) => n).join(' ');
  const cases = table.map(([n, f]) => `    ${n}) flags="${f.join(' ')}" ;;`).join('\n');
  return `# bash completion for tenant-guard (tenant-guard completion bash)
_tenant_guard() {
  local cur cmd flags
  cur="\${COMP_WORDS[COMP_CWORD]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${names} --help --version" -- "$cur") )
    return
  fi
  cmd="\${COMP_WORDS[1]}"
  case "$cmd" in
${cases}
    *) flags="" ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$flags" -- "$cur") )
  elif [ "$cmd" = completion ]; then
    COMPREPLY=( $(compgen -W "bash zsh" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -o default -F _tenant_guard tenant-guard
`;
}

function zsh(table: [string, string[]][], summaries: Record<string, string>): string {
  const cmds = table.map(([n]) => `    '${n}:${(summaries[n] ?? '').replace(/'/g, '')}'`).join('\n');
  const cases = table.map(([n, f]) => `      ${n}) _arguments ${f.map((x) => `'${x}[]'`).join(' ')} '*:file:_files' ;;`).join('\n');
  return `#compdef tenant-guard
# zsh completion for tenant-guard (tenant-guard completion zsh)
_tenant_guard() {
  local -a commands
  commands=(
${cmds}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  case "$words[2]" in
${cases}
      *) _files ;;
  esac
}
compdef _tenant_guard tenant-guard
`;
}

/** `tenant-guard completion bash|zsh`, given main's command table. */
export function completionCommand(commands: Record<string, { load: () => Promise<Command>; summary: string }>): Command {
  return async (argv: string[], io: CliIO) => {
    try {
      if (argv[0] === '--help' || argv[0] === '-h') {
        io.stdout.write(HELP);
        return EXIT_OK;
      }
      const [shell, ...extra] = argv;
      if (shell !== 'bash' && shell !== 'zsh') throw new TenantGuardError('TG_ERR_USAGE', shell === undefined ? 'missing shell: bash or zsh' : `unknown shell "${shell}": bash or zsh`);
      if (extra.length > 0) throw new TenantGuardError('TG_ERR_USAGE', `unexpected argument "${extra[0]}"`);
      const table: [string, string[]][] = [];
      const summaries: Record<string, string> = {};
      for (const [name, c] of Object.entries(commands)) {
        summaries[name] = c.summary;
        table.push([name, name === 'completion' ? ['--help'] : await flagsOf(await c.load())]);
      }
      io.stdout.write(shell === 'bash' ? bash(table) : zsh(table, summaries));
      return EXIT_OK;
    } catch (e) {
      io.stderr.write(`${String(e)}\n${seeHelp('completion')}\n`);
      return EXIT_USAGE;
    }
  };
}
