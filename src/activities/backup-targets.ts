import type { BackupTarget, Manifest } from '../manifest/types';
import type { BackupKind } from './catalogue';
import { failure } from '../common/failures';

export function findTarget(manifest: Manifest, name: string): BackupTarget {
  const targets = manifest.backups?.targets ?? [];
  const target = targets.find((t) => t.name === name);
  if (!target)
    throw failure(
      'BackupConfig',
      `no backup target '${name}' in ${manifest.app}'s manifest; known targets: ${targets.map((t) => t.name).join(', ') || 'none (add backups.targets)'}`,
    );
  return target;
}

export function targetKind(target: BackupTarget): { kind: BackupKind; format: string } {
  return 'postgres' in target
    ? { kind: 'postgres', format: target.postgres.format }
    : { kind: 'files', format: target.files.format };
}
