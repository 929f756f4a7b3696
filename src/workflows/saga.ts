import { CancellationScope } from '@temporalio/workflow';
import { failureMessage, type ProgressTracker } from './progress';

interface Compensation {
  name: string;
  undo: () => Promise<void>;
}

export interface CompensationResult {
  /** Compensations that failed, with why: what was left where. */
  failed: Array<{ name: string; error: string }>;
}

/**
 * Every completed step registers how to undo itself; on failure or cancellation the undos run in
 * reverse order, in a scope cancellation cannot interrupt, each one a step of the run's progress.
 */
export class Saga {
  private readonly compensations: Compensation[] = [];

  add(name: string, undo: () => Promise<void>): void {
    this.compensations.push({ name, undo });
  }

  get size(): number {
    return this.compensations.length;
  }

  async compensate(progress: ProgressTracker): Promise<CompensationResult> {
    const failed: CompensationResult['failed'] = [];
    await CancellationScope.nonCancellable(async () => {
      for (const { name, undo } of [...this.compensations].reverse()) {
        try {
          await progress.run(name, undo);
        } catch (error) {
          failed.push({ name, error: failureMessage(error) });
        }
      }
    });
    this.compensations.length = 0;
    return { failed };
  }
}
