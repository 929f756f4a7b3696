import type { ParsedManifest } from './schema';

/** A validated manifest with its defaults applied and `host`/`hosts` folded into one list. */
export type Manifest = Omit<ParsedManifest, 'host' | 'hosts'> & { hosts: string[] };

export function resolveManifest(parsed: ParsedManifest): Manifest {
  const { host, hosts, ...rest } = parsed;
  return { ...rest, hosts: hosts ?? (host ? [host] : []) };
}

export type {
  BackupTarget,
  Check,
  Job,
  NotifyChannel,
  OffsiteSettings,
  ParamSpec,
  Schedule,
  Service,
  Step,
  StepPhase,
} from './schema';
