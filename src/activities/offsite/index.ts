import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Context } from '@temporalio/activity';
import * as tar from 'tar';
import type { Manifest, OffsiteSettings } from '../../manifest/types';
import { reportProgress } from '../attempt';
import { backupsDir, updateCatalogue, type CatalogueEntry, type OffsiteCopy } from '../catalogue';
import { sha256Path } from '../checksum';
import type { ActivityConfig } from '../config';
import { appEnvironment, requireEnv } from '../environment';
import { planRetention, retentionTimeZone } from '../retention';
import { decryptStream, encryptStream, parseIdentities } from './age';
import {
  abortStaleUploads,
  deleteObject,
  explainS3Error,
  isFolder,
  keyPrefix,
  listSidecarKeys,
  objectKey,
  objectSize,
  objectStream,
  readSidecar,
  s3Client,
  Sha256Counter,
  sidecarKey,
  uploadStream,
  writeSidecar,
  type Sidecar,
} from './storage';
import { failure } from '../../common/failures';

/** The manifest's off-site settings, or a non-retryable failure saying what to add. */
export function offsiteSettings(manifest: Manifest): OffsiteSettings {
  const settings = manifest.backups?.offsite;
  if (!settings)
    throw failure(
      'BackupConfig',
      `${manifest.app}'s manifest has no backups.offsite; add its bucket and credentials' variable names`,
    );
  return settings;
}

/** Off-site copies: upload after verification, read back in full, retention there, fetch for a restore. */
export function offsiteActivities(config: ActivityConfig) {
  const connect = (manifest: Manifest) => {
    const settings = offsiteSettings(manifest);
    return { settings, client: s3Client(settings.s3, appEnvironment(manifest, config.env)) };
  };
  /** Runs one activity's work with its client, explaining configuration errors and closing the client. */
  const withStorage = async <T>(
    manifest: Manifest,
    work: (storage: ReturnType<typeof connect>) => Promise<T>,
  ): Promise<T> => {
    const storage = connect(manifest);
    try {
      return await work(storage);
    } catch (error) {
      throw explainS3Error(error, storage.settings.s3);
    } finally {
      storage.client.destroy();
    }
  };

  return {
    /**
     * Copies a verified artifact to the bucket: streamed from the file (a folder as tar), encrypted with
     * age when the manifest asks, multipart with a sha256 on every part; the sha256 of the bytes stored is
     * computed on the way and written to `<id>.entry.json` beside the copy. A retry finds a finished copy
     * of the same artifact and returns it; it aborts an unfinished upload left by an earlier attempt.
     */
    async copyBackupOffsite(request: { manifest: Manifest; entry: CatalogueEntry }): Promise<OffsiteCopy> {
      const { manifest, entry } = request;
      return withStorage(manifest, async ({ settings, client }) => {
        const { bucket } = settings.s3;
        const encrypted = settings.encrypt !== undefined;
        const key = objectKey(settings.s3, entry, encrypted);
        const sideKey = sidecarKey(settings.s3, manifest.app, entry.id);
        const done = await readSidecar(client, bucket, sideKey);
        if (
          done &&
          done.entry.sha256 === entry.sha256 &&
          done.offsite.key === key &&
          (await objectSize(client, bucket, key)) === done.offsite.bytes
        )
          return done.offsite;
        await abortStaleUploads(client, bucket, key);

        const context = Context.current();
        const source = isFolder(entry)
          ? Readable.from(tar.c({ cwd: path.dirname(entry.file), portable: true }, [path.basename(entry.file)]))
          : createReadStream(entry.file);
        const body = settings.encrypt ? await encryptStream(source, settings.encrypt.recipients) : source;
        const counter = new Sha256Counter();
        const piped = pipeline(body, counter).catch((error: unknown) => counter.destroy(error as Error));
        reportProgress(() => ({ bytes: counter.bytes }));
        await uploadStream(client, settings.s3, {
          key,
          body: counter,
          metadata: {
            'runbook-id': entry.id,
            'runbook-sha256': entry.sha256,
            'runbook-encrypted': String(encrypted),
          },
          signal: context.cancellationSignal,
        });
        await piped;
        const copy: OffsiteCopy = {
          bucket,
          key,
          bytes: counter.bytes,
          sha256: counter.digest(),
          encrypted,
          uploadedAt: new Date().toISOString(),
          verified: false,
        };
        await writeSidecar(client, bucket, sideKey, { entry: localFieldsRemoved(entry), offsite: copy });
        return copy;
      });
    },

    /**
     * Reads the copy back in full from the storage and compares its size and sha256 with what was sent:
     * the end-to-end check. On success the sidecar records it, so off-site retention counts the copy.
     */
    async verifyOffsiteCopy(request: {
      manifest: Manifest;
      entry: CatalogueEntry & { offsite: OffsiteCopy };
    }): Promise<{ verified: boolean; detail: string }> {
      const { manifest, entry } = request;
      const copy = entry.offsite;
      return withStorage(manifest, async ({ settings, client }) => {
        const counter = new Sha256Counter();
        reportProgress(() => ({ bytes: counter.bytes }));
        await pipeline(await objectStream(client, copy.bucket, copy.key), counter, discard());
        const sha256 = counter.digest();
        const where = `s3://${copy.bucket}/${copy.key}`;
        if (counter.bytes !== copy.bytes || sha256 !== copy.sha256)
          return {
            verified: false,
            detail: `${where} read back as ${counter.bytes} bytes, sha256 ${sha256.slice(0, 12)}…; ${copy.bytes} bytes, ${copy.sha256.slice(0, 12)}… were sent: the copy is corrupt`,
          };
        const detail = `read back ${where} in full (${counter.bytes} bytes${copy.encrypted ? ', age-encrypted' : ''}); sha256 matches what was sent`;
        const verified: OffsiteCopy = { ...copy, verified: true, verification: detail };
        await writeSidecar(client, copy.bucket, sidecarKey(settings.s3, manifest.app, entry.id), {
          entry: localFieldsRemoved(entry),
          offsite: verified,
        });
        return { verified: true, detail };
      });
    },

    /**
     * Applies the off-site `keep` rules (default: the local ones) to one target's copies, as listed in the
     * bucket: deletes the data and then the sidecar of each copy outside them (a retry finishes a half-done
     * deletion), then forgets the copy in the catalogue, and the entry too when its local file is gone.
     */
    async applyOffsiteRetention(request: {
      manifest: Manifest;
      target: string;
    }): Promise<{ kept: string[]; deleted: string[] }> {
      const { manifest, target } = request;
      return withStorage(manifest, async ({ settings, client }) => {
        const { bucket } = settings.s3;
        const copies: Sidecar[] = [];
        for (const key of await listSidecarKeys(client, bucket, keyPrefix(settings.s3, manifest.app))) {
          const sidecar = await readSidecar(client, bucket, key);
          if (sidecar?.entry.app === manifest.app && sidecar.entry.target === target) copies.push(sidecar);
        }
        const plan = planRetention(
          copies.map((c) => ({ id: c.entry.id, time: c.entry.logicalDate, verified: c.offsite.verified })),
          settings.keep ?? manifest.backups?.keep ?? {},
          { timeZone: retentionTimeZone(manifest) },
        );
        const doomed = new Set(plan.delete.map((d) => d.id));
        for (const copy of copies.filter((c) => doomed.has(c.entry.id))) {
          await deleteObject(client, bucket, copy.offsite.key);
          await deleteObject(client, bucket, sidecarKey(settings.s3, manifest.app, copy.entry.id));
        }
        await updateCatalogue(backupsDir(manifest), (catalogue) => {
          catalogue.entries = catalogue.entries.flatMap((e) => {
            if (e.app !== manifest.app || !doomed.has(e.id)) return [e];
            if (e.localDeletedAt) return [];
            const { offsite: _gone, ...local } = e;
            return [local];
          });
        });
        return { kept: plan.keep.map((k) => k.id), deleted: [...doomed] };
      });
    },

    /**
     * Brings an artifact back from its off-site copy when the local file is gone: downloads it (decrypting
     * with the private key in the manifest's identityEnv), checks the sha256 of the bytes read against the
     * copy's and the restored file against the catalogue's, and only then puts it under its own name.
     */
    async fetchOffsiteCopy(request: {
      manifest: Manifest;
      entry: CatalogueEntry;
    }): Promise<{ fetched: boolean; detail: string }> {
      const { manifest, entry } = request;
      if (existsSync(entry.file)) return { fetched: false, detail: `the local copy ${entry.file} is there` };
      const copy = entry.offsite;
      if (!copy)
        throw failure(
          'BackupMissing',
          `backup ${entry.id}: ${entry.file} is missing and it has no off-site copy; pick another backup (runbook backups ${entry.app})`,
        );
      if (!manifest.backups?.offsite)
        throw failure(
          'BackupConfig',
          `backup ${entry.id} is only in s3://${copy.bucket}/${copy.key}, and ${manifest.app}'s manifest no longer has backups.offsite; add it back (bucket, endpoint, credentials' variables) to fetch the copy`,
        );
      const env = appEnvironment(manifest, config.env);
      const identityEnv = manifest.backups.offsite.encrypt?.identityEnv ?? 'RUNBOOK_AGE_IDENTITY';
      const identities = copy.encrypted
        ? parseIdentities(requireEnv(env, identityEnv, `the age private key that decrypts ${copy.key}`, manifest))
        : [];
      if (copy.encrypted && identities.length === 0)
        throw failure(
          'MissingEnvironment',
          `${identityEnv} holds no age private key (a line starting AGE-SECRET-KEY-1); set it to the key whose public key the manifest lists`,
        );

      const dir = path.dirname(entry.file);
      const partial = `${entry.file}.fetch-${randomBytes(4).toString('hex')}`;
      return withStorage(manifest, async ({ client }) => {
        await mkdir(dir, { recursive: true });
        await removeFetchPartials(entry.file);
        const counter = new Sha256Counter();
        reportProgress(() => ({ bytes: counter.bytes }));
        let downloadFailed: Error | undefined;
        try {
          const download = await objectStream(client, copy.bucket, copy.key);
          download.once('error', (error: Error) => (downloadFailed = error));
          const stored = download.pipe(counter);
          download.once('error', (error: Error) => counter.destroy(error));
          const plain = copy.encrypted ? await decryptStream(stored, identities) : stored;
          if (isFolder(entry)) {
            await mkdir(partial);
            await pipeline(plain, tar.x({ cwd: partial }));
          } else {
            await pipeline(plain, createWriteStream(partial, { mode: 0o640 }));
          }
        } catch (error) {
          if (downloadFailed || !copy.encrypted) throw error;
          throw failure(
            'DecryptionFailed',
            `could not decrypt s3://${copy.bucket}/${copy.key} with the key in ${identityEnv}: ${(error as Error).message}; ` +
              `set ${identityEnv} to the private key of one of the manifest's recipients (a corrupt copy fails the same way)`,
          );
        }
        const sha256 = counter.digest();
        if (counter.bytes !== copy.bytes || sha256 !== copy.sha256)
          throw failure(
            'ChecksumMismatch',
            `the off-site copy s3://${copy.bucket}/${copy.key} read as ${counter.bytes} bytes, sha256 ${sha256.slice(0, 12)}…, not the ${copy.bytes} bytes, ${copy.sha256.slice(0, 12)}… uploaded: it is corrupt; pick another backup`,
          );
        const fetched = isFolder(entry) ? path.join(partial, path.basename(entry.file)) : partial;
        const restored = await sha256Path(fetched);
        if (restored !== entry.sha256)
          throw failure(
            'ChecksumMismatch',
            `backup ${entry.id} fetched from s3://${copy.bucket}/${copy.key} has sha256 ${restored.slice(0, 12)}…, not the catalogued ${entry.sha256.slice(0, 12)}…; pick another backup`,
          );
        await rename(fetched, entry.file);
        await updateCatalogue(backupsDir(manifest), (catalogue) => {
          const local = catalogue.entries.find((e) => e.id === entry.id);
          if (local) delete local.localDeletedAt;
        });
        return {
          fetched: true,
          detail: `fetched ${entry.id} from s3://${copy.bucket}/${copy.key} (${counter.bytes} bytes${copy.encrypted ? ', decrypted' : ''}); sha256 as catalogued`,
        };
      }).finally(() => rm(partial, { recursive: true, force: true }));
    },
  };
}

/** The catalogue entry as the sidecar keeps it: what the copy is, without this host's bookkeeping. */
function localFieldsRemoved(entry: CatalogueEntry): Sidecar['entry'] {
  const { offsite: _offsite, localDeletedAt: _deleted, ...rest } = entry;
  return rest;
}

function discard(): Writable {
  return new Writable({ write: (_chunk, _encoding, callback) => callback() });
}

/** Partial downloads an earlier attempt left (`<file>.fetch-<random>`). */
async function removeFetchPartials(file: string): Promise<void> {
  const base = `${path.basename(file)}.fetch-`;
  for (const name of await readdir(path.dirname(file)))
    if (name.startsWith(base)) await rm(path.join(path.dirname(file), name), { recursive: true, force: true });
}
