import { promises as fsp } from 'node:fs'
import { hostname } from 'node:os'
import lockfile from 'proper-lockfile'
import { KtrdrError } from '../protocol/index.ts'

export interface DatabaseLock {
  /** The lock directory (`<db>.lock`). */
  path: string
  release(): Promise<void>
}

export interface DatabaseLockOptions {
  /**
   * A lock whose mtime is older than this is abandoned (its holder died without releasing it).
   * The holder refreshes the mtime every `staleMs / 5`, so only an event loop blocked for longer
   * than `staleMs` loses a live lock.
   */
  staleMs?: number
  /** The lock was taken over by another process (our refreshes stalled past `staleMs`). */
  onCompromised?(error: Error): void
}

interface LockOwner {
  pid: number
  hostname: string
  started_at: string
  ino: number
}

/**
 * One gateway per database file: a lock held for the life of the process. proper-lockfile takes
 * it with mkdir (atomic on local disks and NFS alike) and keeps its mtime fresh, so a holder on
 * another machine that died is detected by age. A holder on this machine that died (SIGKILL) is
 * detected at once from the pid in the owner file beside the lock, so a restart is not held up
 * for `staleMs`. For databases that are not files (Postgres) the store uses its own lock instead.
 */
export async function lockDatabaseFile(dbPath: string, options: DatabaseLockOptions = {}): Promise<DatabaseLock> {
  const staleMs = options.staleMs ?? 10_000
  const lockPath = `${dbPath}.lock`
  const ownerPath = `${lockPath}.owner.json`
  const take = () =>
    lockfile.lock(dbPath, {
      realpath: false,
      lockfilePath: lockPath,
      stale: staleMs,
      update: Math.max(1000, Math.floor(staleMs / 5)),
      onCompromised:
        options.onCompromised ??
        ((error) => {
          throw error
        }),
    })

  let unlock: (() => Promise<void>) | null = null
  const deadline = Date.now() + staleMs + 2000
  for (let attempt = 0; !unlock; attempt++) {
    try {
      unlock = await take()
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error
      const owner = await readOwner(ownerPath, lockPath)
      if (owner && owner.hostname === hostname() && !pidAlive(owner.pid) && attempt < 3) {
        // Its holder on this machine is gone: the lock is stale now, whatever its mtime says.
        await fsp.rm(ownerPath, { force: true })
        await fsp.rmdir(lockPath).catch(() => {})
        continue
      }
      // A live holder here, or one on another machine whose refreshes we can only see by mtime:
      // wait until the lock goes stale (proper-lockfile then takes it over) or give up.
      if (owner?.hostname === hostname() || Date.now() >= deadline) throw refused(dbPath, lockPath, owner)
      // Nothing signals a remote holder's death: its mtime ageing is the only evidence.
      await new Promise((resolve) => setTimeout(resolve, 1000))
    }
  }

  const ino = (await fsp.stat(lockPath)).ino
  const owner: LockOwner = { pid: process.pid, hostname: hostname(), started_at: new Date().toISOString(), ino }
  await fsp.writeFile(ownerPath, JSON.stringify(owner))
  let released: Promise<void> | null = null
  return {
    path: lockPath,
    release() {
      released ??= (async () => {
        await fsp.rm(ownerPath, { force: true })
        await unlock!().catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ERELEASED') throw error
        })
      })()
      return released
    },
  }
}

/** The owner file, only when it describes the lock directory that exists now (same inode). */
async function readOwner(ownerPath: string, lockPath: string): Promise<LockOwner | null> {
  try {
    const [text, stat] = await Promise.all([fsp.readFile(ownerPath, 'utf8'), fsp.stat(lockPath)])
    const owner = JSON.parse(text) as LockOwner
    return owner.ino === stat.ino && Number.isInteger(owner.pid) ? owner : null
  } catch {
    return null
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function refused(dbPath: string, lockPath: string, owner: LockOwner | null): KtrdrError {
  const holder = owner ? `gateway pid ${owner.pid} on ${owner.hostname} (since ${owner.started_at})` : 'another gateway'
  return new KtrdrError({
    code: 'DATABASE_LOCKED',
    message: `Database ${dbPath} is in use by ${holder}: one gateway per database. Stop that gateway or point this one at another KTRDR_GATEWAY_DB; if no gateway runs, the lock ${lockPath} goes stale by itself`,
    details: { db_path: dbPath, lock_path: lockPath, owner },
  })
}
